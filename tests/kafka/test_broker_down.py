"""Broker down at start and mid-stream: clear errors, retries, and no loss once it is back.

Each test runs its own broker (memory storage) on a fixed port so it can be stopped and started
again; the session broker is left alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context
from flumepy.core.errors import EventDeliveryError
from flumepy.core.event import Event
from flumepy.sinks.kafka import KafkaSink
from tests.fixtures.kafka import KafkaBroker
from tests.kafka.conftest import fast_consumer
from tests.util import free_port, wait_until, write_conf


@pytest.fixture
def own_broker(tmp_path: Path):
    broker = KafkaBroker(tmp_path / "broker")
    broker.port = free_port()
    yield broker
    broker.stop()


def test_sink_rolls_back_while_the_broker_is_down_and_delivers_all_once_back(own_broker) -> None:
    own_broker.start()
    own_broker.create_topic("out", 2)
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": "1000", "transactionCapacity": "100"}))
    ch.start()
    sink = KafkaSink("k1")
    sink.configure(Context({"kafka.bootstrap.servers": own_broker.bootstrap, "kafka.topic": "out",
                            "flumeBatchSize": "50", "kafka.producer.message.timeout.ms": "1500",
                            "kafka.producer.reconnect.backoff.max.ms": "500"}))
    sink.channel = ch
    sink.start()
    try:
        with ch.transaction() as tx:
            tx.put_batch([Event(b"before-%d" % i) for i in range(50)])
        sink.process()
        own_broker.stop()
        with ch.transaction() as tx:
            tx.put_batch([Event(b"during-%d" % i) for i in range(100)])
        with pytest.raises(EventDeliveryError, match=r"not acknowledged, batch rolled back: out: .*"):
            sink.process()
        assert ch.size() == 100  # the failed batch went back into the channel
        own_broker.start()  # same port; memory storage starts empty
        own_broker.create_topic("out", 2)

        def drained() -> bool:
            try:
                sink.process()
            except EventDeliveryError:
                pass  # still reconnecting: rolled back again
            return ch.size() == 0

        wait_until(drained, 60, interval=0.2, what="the channel to drain once the broker is back")
    finally:
        sink.stop()
    got = {m.value() for m in own_broker.consume("out", 100)}
    assert got == {b"during-%d" % i for i in range(100)}


def test_source_waits_for_a_broker_that_is_down_at_start(own_broker, agent_process, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    p = "a1.sources.r1."
    conf = write_conf(tmp_path, f"""
a1.sources = r1
a1.channels = c1
a1.sinks = k1
{p}type = kafka
{p}kafka.bootstrap.servers = {own_broker.bootstrap}
{p}kafka.topics = late
{p}kafka.consumer.auto.offset.reset = earliest
{p}kafka.consumer.reconnect.backoff.max.ms = 500
{p}kafka.consumer.topic.metadata.refresh.interval.ms = 1000
{p}batchDurationMillis = 200
{p}channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 2000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = {out}
a1.sinks.k1.channel = c1
""" + fast_consumer(p))
    agent = agent_process(conf, "a1").start().wait_started()
    agent.wait_for_output(rf"kafka source r1: .*127\.0\.0\.1:{own_broker.port}.*(refused|down)", 30)
    own_broker.start()
    own_broker.create_topic("late", 1)
    own_broker.produce("late", [b"v%d" % i for i in range(300)])

    def lines() -> list[bytes]:
        return [ln for f in out.iterdir() for ln in f.read_bytes().splitlines()]

    wait_until(lambda: len(lines()) >= 300, 60, what="300 lines after the broker came up")
    assert agent.terminate() == 0
    assert sorted(lines()) == sorted(b"v%d" % i for i in range(300))
