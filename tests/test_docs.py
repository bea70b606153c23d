"""``flumepy describe`` and docs/components.md, both generated from the components' PROPS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flumepy.core.component import Sink, Status
from flumepy.core.context import Prop
from flumepy.docs import DEFAULT_OUTPUT, components_markdown, describe
from flumepy.registry import Registry, UnknownTypeError
from tests.util import run_cli


class DemoSink(Sink):
    """A sink used to check how describe marks special keys.

    Second paragraph: not part of the summary.
    """

    PROPS = (
        Prop("path", "string", None, "Where to write.", required=True),
        Prop("rollSize", "int", 1024, "Bytes per file.", min=0),
        Prop("roll.size", "int", None, "Old spelling.", deprecated="rollSize"),
        Prop("compression", "string", "none", "Codec.", choices=("none", "gzip")),
        Prop("useLocalTime", "bool", False, "Use local time.", ignored="always local"),
        Prop("extra.", prefix=True, doc="Passed to the writer."),
    )

    def process(self) -> Status:
        return Status.BACKOFF


def test_describe_memory(registry: Registry) -> None:
    out = describe(registry, "memory")
    lines = out.splitlines()
    assert lines[0] == "memory (channel)"
    assert lines[1].startswith("In-memory channel")
    assert "flume:  org.apache.flume.channel.MemoryChannel" in lines
    assert "class:  flumepy.channels.memory:MemoryChannel" in lines
    assert any(line.startswith("origin: flumepy ") for line in lines)
    assert "usage:  a1.channels.c1.type = memory" in lines
    row = next(line for line in lines if line.startswith("capacity "))
    assert row.split(None, 4)[1:] == ["positive", "integer", "100", "Maximum number of events stored in the channel."]
    assert any(line.startswith("byteCapacityBufferPercentage") and "int 0..100" in line for line in lines)


def test_describe_finds_flume_class_names_and_python_paths(registry: Registry) -> None:
    assert describe(registry, "org.apache.flume.sink.NullSink").startswith("null (sink)")
    assert describe(registry, "MEMORY", kind="channel").startswith("memory (channel)")
    by_path = describe(registry, "flumepy.channels.memory:MemoryChannel")
    assert by_path.startswith("memory (channel)")  # a registered class shows its alias
    assert by_path.count("(channel)") == 1  # found once, although every kind could import it


def test_describe_marks_required_deprecated_ignored_and_prefix(registry: Registry) -> None:
    registry.register("sinks", "demo", DemoSink, origin="tests")
    out = describe(registry, "demo")
    lines = out.splitlines()
    assert lines[:2] == ["demo (sink)", "A sink used to check how describe marks special keys."]
    assert "origin: tests" in lines
    row = {line.split()[0]: line for line in lines[lines.index("") + 1:] if line and not line.startswith(
        ("type:", "class:", "origin:", "usage:", "also:"))}
    assert "(required)" in row["path"]
    assert "integer >= 0" in row["rollSize"] and "1024" in row["rollSize"]
    assert "[deprecated: use rollSize]" in row["roll.size"]
    assert "none | gzip" in row["compression"]
    assert "[accepted but ignored: always local]" in row["useLocalTime"]
    assert "prefix" in row["extra.*"] and "keys under extra. are passed through" in row["extra.*"]


def test_describe_unknown_types(registry: Registry) -> None:
    with pytest.raises(UnknownTypeError, match=r"no component type is called 'memroy'\. Did you mean memory\?"):
        describe(registry, "memroy")
    with pytest.raises(UnknownTypeError, match="thrift is a Flume source and sink type that flumepy does not provide"):
        describe(registry, "thrift")
    with pytest.raises(UnknownTypeError, match="no sink component type is called 'memory'"):
        describe(registry, "memory", kind="sinks")
    with pytest.raises(UnknownTypeError, match="unknown kind 'widgets'"):
        describe(registry, "memory", kind="widgets")


def test_cli_describe() -> None:
    ok = run_cli("describe", "memory")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("memory (channel)\n")
    bad = run_cli("describe", "memroy")
    assert bad.returncode == 1
    assert "flumepy: error: no component type is called 'memroy'. Did you mean memory?" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_components_md_is_up_to_date(registry: Registry) -> None:
    expected = components_markdown(registry)
    assert DEFAULT_OUTPUT.exists(), "docs/components.md is missing: run bin/gen-docs"
    assert DEFAULT_OUTPUT.read_text() == expected, "docs/components.md is out of date: run bin/gen-docs"
    assert "## Channels" in expected and "### memory" in expected
    assert "| `capacity` | positive integer | 100 | Maximum number of events stored in the channel. |" in expected


def test_gen_docs_check_mode() -> None:
    check = subprocess.run([sys.executable, "-m", "flumepy.docs", "--check"], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stderr
