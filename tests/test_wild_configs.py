"""`flumepy check` on configs shaped like the ones found in the wild (tests/fixtures/wild/).

Each fixture's expected problems are written down here.  Every output line must be a problem
(``FILE:LINE: key: message`` or ``FILE: message``) or the per-agent verdict; never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flumepy.registry import Registry
from tests.util import run_cli

WILD = Path(__file__).resolve().parent / "fixtures" / "wild"

PROBLEM = re.compile(r"^(?P<file>[^:\n]+)(?::(?P<line>\d+))?: (?:(?P<key>[\w.\-]+): )?(?P<msg>\S.*)$")
VERDICT = re.compile(r"^agent \S+: (OK|FAILED): \d+ error\(s\), \d+ warning\(s\); ")

# file -> (agent name or None for all agents, exit code, expected problems as "LINE: key: message" prefixes,
#          total number of problem lines)
EXPECTED: dict[str, tuple[str | None, int, list[str], int]] = {
    "userguide_example_crlf.conf": ("a1", 0, [], 0),
    "chinese_tabs_trailing.conf": ("agent", 0, [], 0),
    "colon_separators_continuations.properties": ("agent1", 0, [], 0),
    "crlf_continuations_escapes.conf": ("a1", 0, [], 0),
    "german_duplicates.properties": ("a1", 0, [
        "18: a1.channels.c1.capacity: warning: duplicate key: line 18 overrides line 11 ('1000' -> '50000'); "
        "the last one wins",
    ], 1),
    "russian_two_agents.conf": (None, 0, [
        "24: collector.sinks.old.type: warning: sink 'old' is configured but not listed in collector.sinks "
        "(line 15); it is ignored",
    ], 1),
    "listed_vs_configured.conf": ("a1", 1, [
        "1: a1.sources: source 'r2' is listed but has no properties (expected a1.sources.r2.type = ...)",
        "3: a1.sinks: sink 'k2' is listed but has no properties (expected a1.sinks.k2.type = ...)",
        "9: a1.channels.c2.type: warning: channel 'c2' is configured but not listed in a1.channels (line 2); "
        "it is ignored; did you mean c1?",
        "14: a1.sinks.k3.type: warning: sink 'k3' is configured but not listed in a1.sinks (line 3); it is ignored",
    ], 4),
    "typos.conf": ("a1", 1, [
        "4: a1.sources.r1.channels: is required: the channels this source writes to (found a1.sources.r1.channel "
        "on line 7: a source's key is channels, a list)",
        "7: a1.sources.r1.channel: warning: unknown key, ignored; did you mean channels?",
        "8: a1.channels.c1.type: unknown channel type 'memroy'. Did you mean memory?",
        "10: a1.sinks.k1.channel: is required: the channel this sink reads (found a1.sinks.k1.channels on line 11",
        "11: a1.sinks.k1.channels: warning: unknown key, ignored; did you mean channel?",
        "14: a1.sinks.k2.batchsize: warning: unknown key, ignored; did you mean batchSize?",
    ], 6),
    "bad_values.conf": ("a1", 1, [
        "6: a1.sources.r1.port: '99999' is not valid: expected an integer between 0 and 65535",
        "12: a1.channels.c1.capacity: '10k' is not valid: expected a positive integer",
    ], 2),
    "substitutions.conf": ("a1", 1, [
        "7: a1.sources.r1.bind: warning: config filter f1 has no value for FLUMEPY_WILD_UNSET_BIND; left as is",
        "11: a1.channels.c1.capacity: '${sys:wild.capacity}' is not valid: expected a positive integer",
        "11: a1.channels.c1.capacity: warning: ${sys:wild.capacity} is not set",
        "12: a1.channels.c1.transactionCapacity: '${sys:wild.capacity}' is not valid",
        "15: a1.sinks.k1.maxBytesToLog: '${env:FLUMEPY_WILD_UNSET_BYTES}' is not valid",
        "15: a1.sinks.k1.maxBytesToLog: warning: ${env:FLUMEPY_WILD_UNSET_BYTES} is not set",
    ], 6),
    "latin1_stray_keys.properties": ("a1", 0, [
        "8: a1.channels.spare: warning: no source or sink uses this channel",
        "12: a1.sink.k1.type: warning: unknown agent-level key, ignored; did you mean a1.sinks?",
    ], 2),
    "comments_only.conf": (None, 1, ["no agents found (expected keys like <agent>.sources = ...)"], 1),
    # Components flumepy may not have yet: filled in by test_wild_config from the registry.
    "kafka_to_hdfs.properties": ("tier1", 1, [], -1),
    "spooldir_file_channel.conf": ("a1", 1, [], -1),
}

# Types these two fixtures use: (kind, type, line, key). Missing ones must be reported clearly.
OPTIONAL_TYPES = {
    "kafka_to_hdfs.properties": [
        ("sources", "org.apache.flume.source.kafka.KafkaSource", 6, "tier1.sources.source1.type"),
        ("sinks", "org.apache.flume.sink.hdfs.HDFSEventSink", 18, "tier1.sinks.sink1.type"),
    ],
    "spooldir_file_channel.conf": [
        ("sources", "spooldir", 5, "a1.sources.spool.type"),
        ("channels", "file", 8, "a1.channels.fc.type"),
        ("sinks", "hdfs", 11, "a1.sinks.h.type"),
    ],
}


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in WILD.iterdir()) == sorted(EXPECTED)
    assert 10 <= len(EXPECTED) <= 15


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_wild_config(name: str) -> None:
    agent, rc, expected, count = EXPECTED[name]
    path = WILD / name
    args = ["check", "--conf-file", str(path)] + (["--name", agent] if agent else [])
    r = run_cli(*args, env={"PATH": "/usr/bin:/bin"})
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    assert r.returncode in (0, 1), out
    problems = []
    for line in out.splitlines():
        if VERDICT.match(line) or line == "configuration has errors":
            continue
        m = PROBLEM.match(line)
        assert m and m.group("file") == str(path), f"malformed line: {line!r}"
        problems.append(line[len(str(path)):].removeprefix(":").lstrip())
    if name in OPTIONAL_TYPES:
        registry = Registry.from_entry_points()
        for kind, type_name, line, key in OPTIONAL_TYPES[name]:
            if _resolves(registry, kind, type_name):
                continue
            mine = [p for p in problems if p.startswith(f"{line}: {key}: ")]
            assert mine, f"no error for the unavailable {type_name} on line {line}:\n{out}"
            assert "flumepy does not provide" in mine[0] or "could not be loaded" in mine[0], mine[0]
            assert "Available" in mine[0] or "pip install" in mine[0], mine[0]
        return
    assert r.returncode == rc, out
    for want in expected:
        assert any(p.startswith(want) for p in problems), f"missing {want!r} in:\n{out}"
    assert len(problems) == count, out


def _resolves(registry: Registry, kind: str, type_name: str) -> bool:
    try:
        registry.resolve(kind, type_name)
        return True
    except Exception:
        return False


def test_russian_file_checks_each_agent_separately() -> None:
    path = WILD / "russian_two_agents.conf"
    r = run_cli("check", "-f", str(path), "-n", "web")
    assert r.returncode == 0
    assert r.stdout.strip() == "agent web: OK: 0 error(s), 0 warning(s); 1 source(s), 1 channel(s), 1 sink(s)"
    r = run_cli("check", "-f", str(path), "-n", "collector", "--strict")
    assert r.returncode == 1  # the unlisted sink is a warning, an error under --strict


def test_substitutions_resolve_when_set() -> None:
    path = WILD / "substitutions.conf"
    env = {"PATH": "/usr/bin:/bin", "FLUMEPY_WILD_UNSET_BIND": "127.0.0.1", "FLUMEPY_WILD_UNSET_BYTES": "32"}
    r = run_cli("check", "-f", str(path), "-n", "a1", "-Dwild.capacity=500", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("agent a1: OK: 0 error(s), 0 warning(s)")
