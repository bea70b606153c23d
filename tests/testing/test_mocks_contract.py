"""The mock sinks of flumepy.testing pass the same SinkContract as real sinks."""

from __future__ import annotations

from pathlib import Path

from flumepy.core.context import Context
from flumepy.testing import FailingSink, SinkContract, SlowSink


class TestFailingSink(SinkContract):
    def make_sink(self, workdir: Path, batch_size: int) -> FailingSink:
        sink = FailingSink("k1")
        sink.configure(Context({"batchSize": str(batch_size), "failures": "0"}))
        return sink

    def delivered(self, sink: FailingSink, workdir: Path) -> list[bytes]:
        return sink.bodies()

    def break_delivery(self, sink: FailingSink, workdir: Path) -> None:
        sink.failures_left = 1


class TestSlowSink(SinkContract):
    def make_sink(self, workdir: Path, batch_size: int) -> SlowSink:
        sink = SlowSink("k1")
        sink.configure(Context({"batchSize": str(batch_size), "delayMs": "1"}))
        return sink

    def delivered(self, sink: SlowSink, workdir: Path) -> list[bytes]:
        return sink.bodies()

    # A slow sink is slow, not broken.
    test_failed_delivery_keeps_events_in_channel = None  # type: ignore[assignment]
