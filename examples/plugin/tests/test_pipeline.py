"""lines -> memory -> jsonl in one process, with flumepy.testing.run_pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flumepy.core.errors import ConfigError
from flumepy.testing import run_pipeline


def test_lines_to_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("first\nsecond\r\nthird")
    out = tmp_path / "out.jsonl"
    conf = f"""
    a1.sources = r1
    a1.channels = c1
    a1.sinks = k1
    a1.sources.r1.type = flumepy_example_plugin.source:LinesSource
    a1.sources.r1.path = {src}
    a1.sources.r1.fileHeader = true
    a1.sources.r1.channels = c1
    a1.channels.c1.type = memory
    a1.sinks.k1.type = flumepy_example_plugin.sink:JsonlSink
    a1.sinks.k1.path = {out}
    a1.sinks.k1.channel = c1
    """
    with run_pipeline(conf, "a1") as p:
        p.wait_for("k1", 3)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"headers": {"file": str(src)}, "body": b} for b in ("first", "second", "third")]


def test_lines_source_requires_a_path() -> None:
    conf = """
    a1.sources = r1
    a1.channels = c1
    a1.sources.r1.type = flumepy_example_plugin.source:LinesSource
    a1.sources.r1.channels = c1
    a1.channels.c1.type = memory
    """
    with pytest.raises(ConfigError, match=r"a1\.sources\.r1\.path: is required"):
        run_pipeline(conf, "a1")
