"""Interop with a real Java Avro IPC peer (avro-ipc 1.8.2, Netty 3), as a Flume agent or SDK client is."""

from __future__ import annotations

from pathlib import Path

import pytest

from flumepy.avro.protocol import PROTOCOL_MD5
from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import EventDeliveryError
from flumepy.core.event import Event
from flumepy.sinks.avro import AvroSink
from flumepy.sources.avro import AvroSource
from tests.avro.conftest import JavaPeer
from tests.sources.conftest import Wired, wire  # noqa: F401  (fixture)
from tests.util import wait_until


def test_java_computes_flumes_protocol_hash(java_peer: JavaPeer) -> None:
    got = java_peer.run("hash")
    assert got.returncode == 0, got.stderr
    assert got.stdout.split()[-1] == "86aadae2c45474c0fe93ffd0f2350a65" == PROTOCOL_MD5.hex()


@pytest.mark.parametrize("compression", ["none", "deflate"])
@pytest.mark.parametrize("message,count,batch,calls", [("append", 5, 1, 5), ("appendBatch", 250, 100, 3)])
def test_java_client_to_avro_source(java_peer: JavaPeer, wire, compression: str, message: str,  # noqa: F811
                                    count: int, batch: int, calls: int) -> None:
    w: Wired = wire(AvroSource, {"bind": "127.0.0.1", "port": "0", "compression-type": compression})
    w.source.start()
    got = java_peer.client(w.source.address[1], message, count, batch, compression)
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["OK"] * calls
    events = w.take()
    assert [e.body for e in events] == [f"java event {i} \u00e9".encode() for i in range(count)]
    assert events[3].headers == {"seq": "3", "from": "java"}
    c = w.source.counters.values
    assert c["EventAcceptedCount"] == count
    key = "AppendAcceptedCount" if message == "append" else "AppendBatchAcceptedCount"
    assert c[key] == calls


def test_java_client_gets_failed_when_channel_is_full(java_peer: JavaPeer, wire) -> None:  # noqa: F811
    w: Wired = wire(AvroSource, {"bind": "127.0.0.1", "port": "0"}, capacity=10, transaction_capacity=10)
    w.source.start()
    got = java_peer.client(w.source.address[1], "appendBatch", 16, 8)
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["OK", "FAILED"]
    assert len(w.take()) == 8
    assert w.source.counters.values["ChannelWriteFail"] == 1


def _sink(port: int, **extra: str) -> tuple[AvroSink, MemoryChannel]:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": "1000", "transactionCapacity": "100"}))
    ch.start()
    sink = AvroSink("k1")
    sink.configure(Context({"hostname": "127.0.0.1", "port": str(port), "batch-size": "10", **extra}))
    sink.channel = ch
    return sink, ch


@pytest.mark.parametrize("compression", ["none", "deflate"])
def test_avro_sink_to_java_server_rolls_back_on_failed(java_peer: JavaPeer, tmp_path: Path,
                                                       compression: str) -> None:
    out = tmp_path / "java-received.txt"
    proc, port = java_peer.server(out, fail_first=1, compression=compression)
    try:
        sink, ch = _sink(port, **{"compression-type": compression})
        with ch.transaction() as tx:
            tx.put_batch([Event(f"line {i} \u00e9".encode(), {"n": str(i)}) for i in range(25)])
        sink.start()
        try:
            with pytest.raises(EventDeliveryError, match="FAILED"):
                sink.process()  # the server answers FAILED: the batch goes back to the channel
            assert ch.size() == 25
            statuses = [sink.process() for _ in range(4)]
        finally:
            sink.stop()
        assert statuses == [Status.READY, Status.READY, Status.READY, Status.BACKOFF]
        lines = wait_until(lambda: (out.read_text("utf-8").splitlines() if out.exists() else []) or None)
        assert lines == [f"n={i}\tline {i} \u00e9" for i in range(25)]
        assert ch.size() == 0
        assert sink.counters.values["EventDrainSuccessCount"] == 25
    finally:
        proc.kill()
        proc.wait()
