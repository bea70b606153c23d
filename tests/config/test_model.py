"""Splitting a properties file into one agent's components: structure problems and config filters."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from flumepy.config.model import AgentSpec, agent_names, build_agent_spec
from flumepy.config.properties import parse_properties, substitute

BASIC = """\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""


def spec_of(text: str, agent: str = "a1", path: str = "m.conf", env: dict[str, str] | None = None) -> AgentSpec:
    props = parse_properties(text, path)
    substitute(props, {}, env if env is not None else {})
    return build_agent_spec(props, agent)


def formatted(spec: AgentSpec) -> list[str]:
    return [p.format() for p in spec.problems]


def test_basic_spec_has_components_with_relative_keys_and_lines() -> None:
    spec = spec_of(BASIC)
    assert spec.problems == []
    assert list(spec.sources) == ["r1"] and list(spec.channels) == ["c1"] and list(spec.sinks) == ["k1"]
    r1 = spec.sources["r1"]
    assert r1.type == "seq" and r1.listed
    assert r1.ctx.get("channels") == "c1"
    assert r1.ctx.full_key("channels") == "a1.sources.r1.channels"
    assert r1.ctx.line("channels") == 5
    assert spec.sinks["k1"].ctx.line("channel") == 8


def test_only_the_named_agent_is_built_and_other_agents_problems_are_not_reported() -> None:
    text = BASIC + (
        "a2.sources = x\n"
        "a2.sources = y\n"  # duplicate key: a2's business
        "a2.channels = c9\n"
        "a2.channels.c9.type = ${env:UNSET_FOR_A2}\n"
        "a2.sources.y.type = seq\n"
    )
    props = parse_properties(text, "multi.conf")
    substitute(props, {}, {})
    assert agent_names(props) == ["a1", "a2"]
    a1 = build_agent_spec(props, "a1")
    assert a1.problems == []
    assert list(a1.channels) == ["c1"]
    a2 = build_agent_spec(props, "a2")
    assert list(a2.channels) == ["c9"] and list(a2.sources) == ["y"]
    msgs = formatted(a2)
    assert any(m.startswith("multi.conf:10: a2.sources: warning: duplicate key") for m in msgs), msgs
    assert any(m.startswith("multi.conf:12: a2.channels.c9.type: warning:") for m in msgs), msgs


def test_unknown_agent_lists_the_agents_found_and_suggests_the_closest() -> None:
    spec = spec_of(BASIC, agent="al")
    [p] = spec.problems
    assert p.level == "error"
    assert "no agent named 'al'" in p.message
    assert "agents found: a1" in p.message and "did you mean a1?" in p.message


def test_listed_but_not_configured_and_configured_but_not_listed() -> None:
    text = BASIC.replace("a1.sinks = k1", "a1.sinks = k1 loggerSink") + (
        "a1.sinks.logerSink.type = logger\n"  # a typo of the listed loggerSink
        "a1.sinks.logerSink.channel = c1\n"
    )
    spec = spec_of(text)
    msgs = formatted(spec)
    assert "m.conf:3: a1.sinks: sink 'loggerSink' is listed but has no properties " \
           "(expected a1.sinks.loggerSink.type = ...)" in msgs
    not_listed = [m for m in msgs if "'logerSink' is configured but not listed" in m]
    assert len(not_listed) == 1
    assert not_listed[0].startswith("m.conf:9: a1.sinks.logerSink.type: warning: ")
    assert "a1.sinks (line 3)" in not_listed[0] and "did you mean loggerSink?" in not_listed[0]
    assert "logerSink" not in spec.sinks


def test_component_without_type_is_an_error_at_its_first_line() -> None:
    text = BASIC.replace("a1.channels.c1.type = memory\n", "a1.channels.c1.capacity = 10\n")
    spec = spec_of(text)
    assert "m.conf:6: a1.channels.c1.type: is required (the component type)" in formatted(spec)


def test_no_channels_and_no_sources_nor_sinks_are_errors() -> None:
    spec = spec_of("a1.sources = r1\na1.sources.r1.type = seq\na1.sources.r1.channels = c1\n")
    assert any("no channels are listed" in m for m in formatted(spec))
    spec = spec_of("a1.channels = c1\na1.channels.c1.type = memory\n")
    assert any("the agent has no sources and no sinks" in m for m in formatted(spec))


def test_stray_keys_get_warnings_with_hints() -> None:
    text = BASIC + "a1.source = r1\nnoprefix = 1\na1.sinks.k1 = oops\na1.sources = r1 r1\n"
    msgs = formatted(spec_of(text))
    assert "m.conf:9: a1.source: warning: unknown agent-level key, ignored; did you mean a1.sources?" in msgs
    assert "m.conf:10: noprefix: warning: key has no agent name prefix (expected <agent>.<...>); ignored" \
        in msgs
    assert any(m.startswith("m.conf:11: a1.sinks.k1: warning: expected a1.sinks.<name>.<key>") for m in msgs)
    assert "m.conf:12: a1.sources: warning: 'r1' is listed twice" in msgs


# -- config filters ---------------------------------------------------------------------------------
def test_env_config_filter_in_all_three_quote_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUMEPY_TEST_CAP", "1234")
    monkeypatch.setenv("FLUMEPY_TEST_TC", "12")
    text = BASIC + (
        "a1.configfilters = f\n"
        "a1.configfilters.f.type = env\n"
        "a1.channels.c1.capacity = ${f['FLUMEPY_TEST_CAP']}\n"
        "a1.channels.c1.transactionCapacity = ${f[\"FLUMEPY_TEST_TC\"]}\n"
        "a1.sinks.k1.batchSize = ${f[FLUMEPY_TEST_TC]}0\n"
    )
    spec = spec_of(text)
    assert spec.problems == []
    c1 = spec.channels["c1"].ctx
    assert c1.get("capacity") == "1234"
    assert c1.get("transactionCapacity") == "12"
    assert c1.line("capacity") == 11  # lines survive the substitution
    assert spec.sinks["k1"].ctx.get("batchSize") == "120"


def test_env_config_filter_missing_variable_is_a_warning_and_left_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUMEPY_TEST_MISSING", raising=False)
    text = BASIC + (
        "a1.configfilters = f\n"
        "a1.configfilters.f.type = org.apache.flume.configfilter.EnvironmentVariableConfigFilter\n"
        "a1.channels.c1.capacity = ${f['FLUMEPY_TEST_MISSING']}\n"
        "a1.channels.c1.keep-alive = ${other['X']}\n"  # not a declared filter: untouched, silently
    )
    spec = spec_of(text)
    assert spec.channels["c1"].ctx.get("capacity") == "${f['FLUMEPY_TEST_MISSING']}"
    assert spec.channels["c1"].ctx.get("keep-alive") == "${other['X']}"
    assert formatted(spec) == ["m.conf:11: a1.channels.c1.capacity: warning: config filter f has no value "
                               "for FLUMEPY_TEST_MISSING; left as is"]


def test_external_config_filter_runs_the_command_with_the_key(tmp_path: Path) -> None:
    script = tmp_path / "secret.py"
    script.write_text("import sys\nprint('value-of-' + sys.argv[1])\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    text = BASIC + (
        "a1.configfilters = ext\n"
        "a1.configfilters.ext.type = external\n"
        f"a1.configfilters.ext.command = {sys.executable} {script}\n"
        "a1.sinks.k1.password = ${ext['db_password']}\n"
    )
    spec = spec_of(text)
    assert spec.problems == []
    assert spec.sinks["k1"].ctx.get("password") == "value-of-db_password"


def test_unsupported_config_filter_type_is_an_error() -> None:
    text = BASIC + "a1.configfilters = h\na1.configfilters.h.type = hadoop\n"
    msgs = formatted(spec_of(text))
    assert any(m.startswith("m.conf:10: a1.configfilters.h.type: unsupported config filter type 'hadoop'")
               for m in msgs), msgs


def test_env_substitution_happens_before_the_split() -> None:
    spec = spec_of(BASIC + "a1.channels.c1.capacity = ${env:CAP}\n", env={"CAP": "77"})
    assert spec.channels["c1"].ctx.get("capacity") == "77"
