"""The jsonl sink checked by flumepy's shared sink contract, plus its own output format."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from flumepy_example_plugin.sink import JsonlSink

from flumepy.core.context import Context
from flumepy.core.event import Event
from flumepy.testing import SinkContract, put_all


def make(path: Path, **settings: str) -> JsonlSink:
    sink = JsonlSink("k1")
    sink.configure(Context({"path": str(path), **settings}))
    return sink


class TestJsonlSink(SinkContract):
    """Every test of SinkContract, run on JsonlSink through these four hooks."""

    def make_sink(self, workdir: Path, batch_size: int) -> JsonlSink:
        return make(workdir / "out.jsonl", batchSize=str(batch_size))

    def delivered(self, sink: JsonlSink, workdir: Path) -> list[bytes]:
        path = workdir / "out.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["body"].encode() for line in path.read_text().splitlines()]

    def break_delivery(self, sink: JsonlSink, workdir: Path) -> None:
        # A directory where the file should be: opening it for append fails.
        (workdir / "out.jsonl").unlink(missing_ok=True)
        (workdir / "out.jsonl").mkdir()

    def repair_delivery(self, sink: JsonlSink, workdir: Path) -> None:
        (workdir / "out.jsonl").rmdir()


def test_lines_have_headers_and_base64_bodies(tmp_path: Path) -> None:
    from flumepy.channels.memory import MemoryChannel

    ch = MemoryChannel("c1")
    ch.configure(Context({}))
    sink = make(tmp_path / "sub" / "out.jsonl", bodyFormat="base64")
    sink.channel = ch
    ch.start()
    sink.start()
    put_all(ch, [Event(b"\x00\xff", {"host": "h1"})])
    sink.process()
    sink.stop()
    ch.stop()
    [line] = (tmp_path / "sub" / "out.jsonl").read_text().splitlines()
    assert json.loads(line) == {"headers": {"host": "h1"}, "body": base64.b64encode(b"\x00\xff").decode()}
