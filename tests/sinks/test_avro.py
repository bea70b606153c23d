"""avro sink: appendBatch per transaction, commit only after OK; against flumepy's own Avro server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.avro.server import AvroServer
from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError, EventDeliveryError
from flumepy.core.event import Event
from flumepy.sinks.avro import AvroSink
from flumepy.testing import SinkContract


class Receiver:
    """An Avro server that records what it received and answers ``status``."""

    def __init__(self, port: int = 0, deflate: bool = False) -> None:
        self.events: list[Event] = []
        self.calls = 0
        self.status = "OK"
        self.lock = threading.Lock()
        self.server = AvroServer("rx", self.handle, "127.0.0.1", port, deflate=deflate)
        self.server.start()
        assert self.server.address is not None
        self.port = self.server.address[1]

    def handle(self, name: str, events: list[Event]) -> str:
        with self.lock:
            self.calls += 1
            if self.status == "OK":
                self.events.extend(events)
            return self.status

    def stop(self) -> None:
        self.server.stop()


class TestAvroSink(SinkContract):
    receivers: dict[Path, Receiver]

    @pytest.fixture(autouse=True)
    def _receivers(self) -> Iterator[None]:
        self.receivers = {}
        yield
        for r in self.receivers.values():
            r.stop()

    def make_sink(self, workdir: Path, batch_size: int) -> AvroSink:
        rx = self.receivers[workdir] = Receiver()
        sink = AvroSink("k1")
        sink.configure(Context({"hostname": "127.0.0.1", "port": str(rx.port), "batch-size": str(batch_size),
                                "connect-timeout": "2000", "request-timeout": "5000"}))
        return sink

    def delivered(self, sink: AvroSink, workdir: Path) -> list[bytes]:
        return [e.body for e in self.receivers[workdir].events]

    def break_delivery(self, sink: AvroSink, workdir: Path) -> None:
        self.receivers[workdir].status = "FAILED"

    def repair_delivery(self, sink: AvroSink, workdir: Path) -> None:
        self.receivers[workdir].status = "OK"


def rig(port: int, **settings: str) -> tuple[AvroSink, MemoryChannel]:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": "10000", "transactionCapacity": "1000"}))
    ch.start()
    sink = AvroSink("k1")
    sink.configure(Context({"hostname": "127.0.0.1", "port": str(port), "connect-timeout": "2000", **settings},
                           prefix="a1.sinks.k1."))
    sink.channel = ch
    return sink, ch


def put(ch: MemoryChannel, n: int, start: int = 0) -> None:
    with ch.transaction() as tx:
        tx.put_batch([Event(b"%d" % i, {"n": str(i)}) for i in range(start, start + n)])


def test_peer_down_then_up_loses_and_duplicates_nothing() -> None:
    probe = Receiver()
    port = probe.port
    probe.stop()
    sink, ch = rig(port, **{"batch-size": "50"})
    put(ch, 120)
    sink.start()  # the peer is down: start still succeeds
    try:
        with pytest.raises(EventDeliveryError, match="cannot connect"):
            sink.process()
        assert ch.size() == 120
        rx = Receiver(port)
        try:
            while sink.process() is Status.READY:
                pass
            assert [e.body for e in rx.events] == [b"%d" % i for i in range(120)]
            assert rx.events[5].headers == {"n": "5"}
            c = sink.counters.values
            assert c["ConnectionFailedCount"] == 2 and c["ConnectionCreatedCount"] == 1
            assert (c["BatchCompleteCount"], c["BatchUnderflowCount"]) == (2, 1)
            # The collector restarts: the sink reconnects and goes on.
            rx.stop()
            put(ch, 10, 120)
            with pytest.raises(EventDeliveryError):
                sink.process()
            rx2 = Receiver(port)
            try:
                assert sink.process() is Status.READY
                assert [e.body for e in rx2.events] == [b"%d" % i for i in range(120, 130)]
            finally:
                rx2.stop()
        finally:
            rx.stop()
    finally:
        sink.stop()


def test_deflate_and_reset_connection_interval() -> None:
    rx = Receiver(deflate=True)
    sink, ch = rig(rx.port, **{"compression-type": "deflate", "compression-level": "9",
                               "reset-connection-interval": "1"})
    sink.start()
    try:
        put(ch, 10)
        assert sink.process() is Status.READY
        time.sleep(1.1)  # not a timing assertion: lets the reset interval pass
        put(ch, 10, 10)
        assert sink.process() is Status.READY
        assert [e.body for e in rx.events] == [b"%d" % i for i in range(20)]
        assert sink.counters.values["ConnectionCreatedCount"] == 2
    finally:
        sink.stop()
        rx.stop()


def test_request_timeout_rolls_back() -> None:
    gate = threading.Event()

    def slow(name: str, events: list[Event]) -> str:
        gate.wait(10)
        return "OK"

    server = AvroServer("slow", slow, "127.0.0.1", 0)
    server.start()
    sink, ch = rig(server.address[1], **{"request-timeout": "300"})  # type: ignore[index]
    sink.start()
    try:
        put(ch, 3)
        with pytest.raises(EventDeliveryError, match="no response within 0.3 s"):
            sink.process()
        assert ch.size() == 3
    finally:
        gate.set()
        sink.stop()
        server.stop()


def test_config() -> None:
    with pytest.raises(ConfigError, match="a1.sinks.k1.hostname"):
        AvroSink("k1").configure(Context({"port": "1"}, prefix="a1.sinks.k1."))
    with pytest.raises(ConfigError, match="compression-level"):
        AvroSink("k1").configure(Context({"hostname": "h", "port": "1", "compression-level": "12"},
                                         prefix="a1.sinks.k1."))
    ctx = Context({"hostname": "h", "port": "1", "maxIoWorkers": "4"}, prefix="a1.sinks.k1.")
    sink = AvroSink("k1")
    sink.configure(ctx)
    assert sink.batch_size == 100
    assert any("maxIoWorkers" in p.key and "not implemented" in p.message for p in ctx.problems)
