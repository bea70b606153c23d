"""Validation: every problem reported at once as FILE:LINE: key: message, errors vs warnings, --strict."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from flumepy import cli
from flumepy.agent import Agent, load_agent_spec
from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context, Prop, port, suggest, unknown_key_problems
from flumepy.core.errors import ConfigError
from flumepy.registry import Registry
from flumepy.topology import build_topology, errors

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<key>[\w.\-]+): (?P<msg>.+)$")

GOOD = """\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """Run ``flumepy check`` in-process; returns the exit code and the problem lines."""
    conf = tmp_path / "agent.conf"
    conf.write_text(textwrap.dedent(text))
    rc = cli.main(["check", "-f", str(conf), "-n", "a1", *args])
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if not ln.startswith("agent a1:")]
    for ln in lines:
        m = LINE.match(ln)
        assert m, f"not FILE:LINE: key: message: {ln!r}"
        assert m.group("file") == str(conf)
    return rc, [ln[len(str(conf)) + 1:] for ln in lines]  # "LINE: key: message"


def test_good_config_checks_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, problems = check(tmp_path, GOOD, capsys)
    assert (rc, problems) == (0, [])


def test_every_problem_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = """\
    a1.sources = r1 r2
    a1.channels = c1 c2
    a1.sinks = k1 k2 k3
    a1.sources.r1.type = sequence
    a1.sources.r1.channels = c1
    a1.sources.r2.type = seq
    a1.channels.c1.type = memory
    a1.channels.c1.capacity = ten
    a1.channels.c2.type = memory
    a1.channels.c2.capacity = 10
    a1.channels.c2.transactionCapacity = 20
    a1.sinks.k1.type = null
    a1.sinks.k1.channel = c9
    a1.sinks.k2.type = logger
    a1.sinks.k3.type = memmory
    a1.sinks.k3.channel = c1
    """
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 1
    by_line = {p.split(":", 1)[0]: p for p in problems}
    assert by_line["4"].startswith("4: a1.sources.r1.type: unknown source type 'sequence'.")
    assert "Known source types:" in by_line["4"] and "seq" in by_line["4"]
    assert by_line["6"].startswith("6: a1.sources.r2.channels: is required: the channels this source writes to")
    assert by_line["8"] == "8: a1.channels.c1.capacity: 'ten' is not valid: expected a positive integer"
    assert by_line["11"].startswith("11: a1.channels.c2.transactionCapacity: 20 is larger than capacity (10)")
    assert by_line["13"] == ("13: a1.sinks.k1.channel: channel 'c9' is not declared in a1.channels "
                             "(declared: c1, c2)")
    assert by_line["14"].startswith("14: a1.sinks.k2.channel: is required: the channel this sink reads")
    assert by_line["15"].startswith("15: a1.sinks.k3.type: unknown sink type 'memmory'.")
    assert len(problems) == 7, problems


def test_unknown_type_suggests_the_closest_and_lists_known(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    rc, problems = check(tmp_path, GOOD.replace("type = null", "type = nul"), capsys)
    assert rc == 1
    [p] = problems
    assert p.startswith("7: a1.sinks.k1.type: unknown sink type 'nul'. Did you mean null? Known sink types: ")
    assert "logger" in p and "null" in p


def test_java_class_of_a_missing_component_is_a_clear_error(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("a1.sinks.k1.type = null", "a1.sinks.k1.type = org.apache.flume.sink.irc.IRCSink")
    text = text.replace("a1.channels.c1.type = memory",
                        "a1.channels.c1.type = org.apache.flume.channel.MemoryChannel")
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 1
    [p] = problems  # the Java MemoryChannel class name maps to memory and is fine
    assert p.startswith("7: a1.sinks.k1.type: org.apache.flume.sink.irc.IRCSink is Flume's Java sink 'irc', "
                        "which flumepy does not provide")
    assert "Available sink types:" in p


def test_source_and_sink_channel_key_mixups_get_hints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("a1.sources.r1.channels = c1", "a1.sources.r1.channel = c1")
    text = text.replace("a1.sinks.k1.channel = c1", "a1.sinks.k1.channels = c1")
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 1
    assert "4: a1.sources.r1.channels: is required: the channels this source writes to (found " \
           "a1.sources.r1.channel on line 5: a source's key is channels, a list)" in problems
    assert "5: a1.sources.r1.channel: warning: unknown key, ignored; did you mean channels?" in problems
    assert "7: a1.sinks.k1.channel: is required: the channel this sink reads (found a1.sinks.k1.channels on " \
           "line 8: a sink reads exactly one channel, key channel)" in problems
    assert "8: a1.sinks.k1.channels: warning: unknown key, ignored; did you mean channel?" in problems


def test_source_referencing_an_undeclared_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, problems = check(tmp_path, GOOD.replace("a1.sources.r1.channels = c1", "a1.sources.r1.channels = c1 c2"),
                         capsys)
    assert rc == 1
    assert problems == ["5: a1.sources.r1.channels: channel 'c2' is not declared in a1.channels (declared: c1)"]


def test_batch_size_larger_than_transaction_capacity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD + "a1.channels.c1.transactionCapacity = 10\na1.sources.r1.batchSize = 50\n" \
                  "a1.sinks.k1.batchSize = 11\n"
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 1
    assert problems == [
        "10: a1.sources.r1.batchSize: batch size 50 is larger than channel c1's transactionCapacity 10; "
        "lower it or raise a1.channels.c1.transactionCapacity",
        "11: a1.sinks.k1.batchSize: batch size 11 is larger than channel c1's transactionCapacity 10; "
        "lower it or raise a1.channels.c1.transactionCapacity",
    ]


@pytest.mark.parametrize("value,message", [
    ("70000", "'70000' is not valid: expected an integer between 0 and 65535"),
    ("-1", "'-1' is not valid: expected an integer between 0 and 65535"),
    ("http", "'http' is not valid: expected an integer between 0 and 65535"),
])
def test_netcat_port_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str,
                                  message: str) -> None:
    text = GOOD.replace("a1.sources.r1.type = seq",
                        f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {value}")
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 1
    assert problems == [f"6: a1.sources.r1.port: {message}"]


def test_warnings_do_not_fail_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD + (
        "a1.channels.c1.capacty = 1000\n"          # typo: unknown key with a hint
        "a1.sinks.k1.channel = c1\n"               # duplicate key
        "a1.sinks.k9.type = logger\n"              # configured but not listed
    )
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 0
    assert problems == [
        "9: a1.channels.c1.capacty: warning: unknown key, ignored; did you mean capacity?",
        "10: a1.sinks.k1.channel: warning: duplicate key: line 10 overrides line 8 ('c1' -> 'c1'); "
        "the last one wins",
        "11: a1.sinks.k9.type: warning: sink 'k9' is configured but not listed in a1.sinks (line 3); "
        "it is ignored; did you mean k1?",
    ]
    rc, strict_problems = check(tmp_path, text, capsys, "--strict")
    assert rc == 1
    assert strict_problems == problems


def test_unused_channel_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("a1.channels = c1", "a1.channels = c1 spare") + "a1.channels.spare.type = memory\n"
    rc, problems = check(tmp_path, text, capsys)
    assert rc == 0
    assert problems == ["9: a1.channels.spare: warning: no source or sink uses this channel"]


def test_agent_build_raises_with_all_problems_and_strict_counts_warnings(tmp_path: Path,
                                                                        registry: Registry) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text(GOOD + "a1.channels.c1.capacty = 5\n")
    agent = Agent(registry)
    topo, problems = agent.build(load_agent_spec(str(conf), "a1"))
    assert [p.level for p in problems] == ["warning"]
    assert set(topo.channels) == {"c1"} and set(topo.sinks) == {"k1"} and set(topo.sources) == {"r1"}
    with pytest.raises(ConfigError) as e:
        agent.build(load_agent_spec(str(conf), "a1"), strict=True)
    assert "capacty" in str(e.value)
    conf.write_text(GOOD.replace("type = memory", "type = memroy") + "a1.sinks.k1.batchSize = x\n")
    with pytest.raises(ConfigError) as e:
        agent.build(load_agent_spec(str(conf), "a1"))
    msgs = [p.format() for p in e.value.problems]
    assert any("memroy" in m and "Did you mean memory?" in m for m in msgs), msgs
    assert any("a1.sinks.k1.batchSize: 'x' is not valid" in m for m in msgs), msgs


# -- the mechanisms, as unit tests ---------------------------------------------------------------
def test_suggest() -> None:
    hdfs_keys = ["hdfs.path", "hdfs.rollInterval", "hdfs.rollSize", "hdfs.rollCount", "serializer"]
    assert suggest("rollInterval", hdfs_keys) == "hdfs.rollInterval"
    assert suggest("hdfs.rollintervall", hdfs_keys) == "hdfs.rollInterval"
    assert suggest("HDFS.PATH", hdfs_keys) == "hdfs.path"
    assert suggest("capacty", ["capacity", "transactionCapacity", "keep-alive"]) == "capacity"
    assert suggest("al", ["a1", "agent"]) == "a1"
    assert suggest("k3", ["k1", "k2"]) is None  # ambiguous: no guess rather than a wrong one
    assert suggest("completely-different", hdfs_keys) is None


def test_unknown_key_problems_for_an_hdfs_like_component() -> None:
    props = (Prop("hdfs.path", required=True), Prop("hdfs.rollInterval", "int", 30),
             Prop("serializer.", prefix=True))
    ctx = Context({"type": "hdfs", "hdfs.path": "/x", "rollInterval": "60", "serializer.appendNewline": "false",
                   "hdfs.fileTyp": "DataStream"},
                  {"type": 3, "hdfs.path": 4, "rollInterval": 5, "serializer.appendNewline": 6, "hdfs.fileTyp": 7},
                  "a1.sinks.k1.", "f.conf")
    msgs = [p.format() for p in unknown_key_problems(ctx, props, ("type", "channel"))]
    assert msgs == [
        "f.conf:5: a1.sinks.k1.rollInterval: warning: unknown key, ignored; did you mean hdfs.rollInterval?",
        "f.conf:7: a1.sinks.k1.hdfs.fileTyp: warning: unknown key, ignored",
    ]


def test_prop_conversion_messages() -> None:
    ctx = Context({"p": "65536", "q": "0", "n": "-3", "b": "maybe", "c": "GZIP", "f": "x", "ok": "8080"},
                  {"p": 1, "q": 2, "n": 3, "b": 4, "c": 5, "f": 6, "ok": 7}, "a1.sources.r1.", "f.conf")
    assert ctx.value(port("ok")) == 8080
    assert ctx.value(port("q")) == 0
    cases = {
        port("p"): "f.conf:1: a1.sources.r1.p: '65536' is not valid: expected an integer between 0 and 65535",
        Prop("n", "int", 1, min=1): "f.conf:3: a1.sources.r1.n: '-3' is not valid: expected a positive integer",
        Prop("b", "bool", False): "f.conf:4: a1.sources.r1.b: 'maybe' is not valid: expected true or false",
        Prop("c", choices=("none", "gzip", "deflate")): None,
        Prop("f", "float", 1.0): "f.conf:6: a1.sources.r1.f: 'x' is not valid: expected a number",
        port("missing"): "f.conf:1: a1.sources.r1.missing: is required (Port to listen on)",
    }
    for prop, want in cases.items():
        if want is None:
            assert ctx.value(prop) == "gzip"
            continue
        with pytest.raises(ConfigError) as e:
            ctx.value(prop)
        assert str(e.value) == want
    with pytest.raises(ConfigError) as e:
        ctx.parse([port("p"), Prop("n", "int", 1, min=1), Prop("ok", "int", 0)])
    assert len(e.value.problems) == 2  # all bad values together


def test_prop_deprecated_and_ignored_keys_warn() -> None:
    ctx = Context({"old": "5", "unused": "x"}, {"old": 1, "unused": 2}, "a1.sinks.k1.", "f.conf")
    props = (Prop("new", "int", 1), Prop("old", "int", None, deprecated="new"),
             Prop("unused", ignored="Java-only tuning"))
    out = ctx.parse(props)
    assert out["new"] == 5
    msgs = [p.format() for p in ctx.problems]
    assert "f.conf:1: a1.sinks.k1.old: warning: is deprecated; use new instead" in msgs
    assert "f.conf:2: a1.sinks.k1.unused: warning: accepted but not implemented by flumepy: Java-only tuning" in msgs


def test_memory_channel_errors_name_file_line_and_key() -> None:
    ch = MemoryChannel("c1")
    ctx = Context({"type": "memory", "capacity": "10", "transactionCapacity": "11"},
                  {"type": 1, "capacity": 2, "transactionCapacity": 3}, "a1.channels.c1.", "m.conf")
    with pytest.raises(ConfigError) as e:
        ch.configure(ctx)
    assert str(e.value).startswith("m.conf:3: a1.channels.c1.transactionCapacity: 11 is larger than capacity (10)")


def test_build_topology_collects_problems_without_raising(registry: Registry, tmp_path: Path) -> None:
    conf = tmp_path / "t.conf"
    conf.write_text(GOOD.replace("a1.sinks.k1.channel = c1", "a1.sinks.k1.channel = nope"))
    topo, problems = build_topology(load_agent_spec(str(conf), "a1"), registry)
    assert [p.key for p in errors(problems)] == ["a1.sinks.k1.channel"]
    assert "k1" not in topo.sinks and "r1" in topo.sources
