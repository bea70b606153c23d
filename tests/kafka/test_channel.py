"""Kafka channel against a real broker: transactions, rollback, plain records, two agents sharing a topic."""

from __future__ import annotations

import time
from pathlib import Path

from flumepy.channels.kafka import KafkaChannel
from flumepy.core.context import Context
from flumepy.core.event import Event
from tests.kafka.conftest import unique
from tests.util import wait_until, write_conf

FAST = {"kafka.consumer.session.timeout.ms": "6000", "kafka.consumer.heartbeat.interval.ms": "1000"}


def _channel(broker, topic: str, group: str, **extra: str) -> KafkaChannel:
    ch = KafkaChannel("c1")
    ch.configure(Context({"kafka.bootstrap.servers": broker.bootstrap, "kafka.topic": topic,
                          "kafka.consumer.group.id": group, "kafka.pollTimeout": "200", **FAST, **extra}))
    ch.start()
    return ch


def _take(ch: KafkaChannel, n: int, commit: bool = True, timeout: float = 30) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + timeout
    tx = ch.transaction()
    tx.begin()
    while len(got) < n and time.monotonic() < deadline:
        got.extend(tx.take_batch(n - len(got)))
    if commit:
        tx.commit()
    else:
        tx.rollback()
    tx.close()
    return got


def test_put_then_take_in_another_channel_keeps_headers_and_commits(kafka_broker) -> None:
    topic, group = kafka_broker.create_topic(unique("ch")), unique("g")
    events = [Event(b"body-%d" % i, {"n": str(i), "host": "h1"}) for i in range(30)]
    writer = _channel(kafka_broker, topic, group)
    reader = _channel(kafka_broker, topic, group)
    try:
        with writer.transaction() as tx:
            tx.put_batch(events)
        rolled_back = _take(reader, 10, commit=False)
        assert rolled_back == events[:10]
        assert _take(reader, 30) == events  # the rolled-back ten come again, in order
        assert writer.counters.values["EventPutSuccessCount"] == 30
        assert reader.counters.values["EventTakeSuccessCount"] == 30
    finally:
        reader.stop()
    # Committed: a new member of the group finds nothing left; a put-rollback sent nothing.
    with writer.transaction() as tx:
        tx.put_batch([Event(b"never")])
        tx.rollback()
    later = _channel(kafka_broker, topic, group)
    try:
        with writer.transaction() as tx:
            tx.put(Event(b"last"))
        assert _take(later, 1) == [Event(b"last", {})]
    finally:
        later.stop()
        writer.stop()


def test_plain_records_when_parse_as_flume_event_is_off(kafka_broker) -> None:
    topic, group = kafka_broker.create_topic(unique("ch")), unique("g")
    kafka_broker.produce(topic, [b"raw-1", b"raw-2"])
    ch = _channel(kafka_broker, topic, group, parseAsFlumeEvent="false")
    try:
        assert _take(ch, 2) == [Event(b"raw-1"), Event(b"raw-2")]
        with ch.transaction() as tx:
            tx.put(Event(b"plain", {"key": "k9", "ignored": "x"}))
    finally:
        ch.stop()
    (m,) = [m for m in kafka_broker.consume(topic, 3) if m.value() == b"plain"]
    assert m.key() == b"k9"


def test_two_agents_share_one_kafka_channel(kafka_broker, agent_process, tmp_path: Path) -> None:
    topic, group = kafka_broker.create_topic(unique("ch"), partitions=2), unique("g")
    chan = f"""
        a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
        a1.channels.c1.kafka.bootstrap.servers = {kafka_broker.bootstrap}
        a1.channels.c1.kafka.topic = {topic}
        a1.channels.c1.kafka.consumer.group.id = {group}
        a1.channels.c1.kafka.consumer.session.timeout.ms = 6000
        a1.channels.c1.kafka.consumer.heartbeat.interval.ms = 1000
    """
    producer_conf = write_conf(tmp_path, """
        a1.sources = r1
        a1.channels = c1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = 3000
        a1.sources.r1.batchSize = 100
        a1.sources.r1.channels = c1
        a1.sources.r1.interceptors = h
        a1.sources.r1.interceptors.h.type = static
        a1.sources.r1.interceptors.h.key = origin
        a1.sources.r1.interceptors.h.value = agent-a
    """ + chan, "producer.conf")
    out = tmp_path / "out"
    out.mkdir()
    consumer_conf = write_conf(tmp_path, f"""
        a1.channels = c1
        a1.sinks = k1
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        a1.sinks.k1.sink.serializer = header_and_text
    """ + chan, "consumer.conf")
    a = agent_process(producer_conf, "a1").start().wait_started()
    b = agent_process(consumer_conf, "a1").start().wait_started()

    def lines() -> list[str]:
        return [ln for f in out.iterdir() for ln in f.read_text().splitlines()]

    wait_until(lambda: len(set(lines())) >= 3000, 60, what="3000 events through the Kafka channel")
    assert a.terminate() == 0 and b.terminate() == 0
    got = set(lines())
    assert got == {f"{{origin=agent-a}} {i}" for i in range(3000)}
