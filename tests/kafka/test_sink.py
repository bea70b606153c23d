"""Kafka sink against a real broker: keys, headers, topic override, partitions, Flume event format, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context
from flumepy.core.errors import EventDeliveryError
from flumepy.core.event import Event
from flumepy.kafka import avro
from flumepy.sinks.kafka import KafkaSink
from tests.kafka.conftest import unique
from tests.util import run_cli, wait_until, write_conf


def _setup(settings: dict[str, str], events: list[Event]) -> tuple[KafkaSink, MemoryChannel]:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": "1000", "transactionCapacity": "500"}))
    ch.start()
    with ch.transaction() as tx:
        tx.put_batch(events)
    sink = KafkaSink("k1")
    sink.configure(Context(settings))
    sink.channel = ch
    sink.start()
    return sink, ch


def _drain(sink: KafkaSink, ch: MemoryChannel) -> None:
    while ch.size():
        sink.process()


def test_round_trip_with_keys_headers_and_topic_override(kafka_broker) -> None:
    main = kafka_broker.create_topic(unique("snk"), partitions=3)
    other = kafka_broker.create_topic(unique("snk-other"))
    events = [Event(b"e%03d" % i, {"key": f"user{i % 5}", "trace": f"t{i}"}) for i in range(100)]
    events += [Event(b"redirected", {"topic": "%{team}-%{env}", "team": other.rsplit("-", 1)[0],
                                     "env": other.rsplit("-", 1)[1], "trace": "r"})]  # escapes in the header
    sink, ch = _setup({"kafka.bootstrap.servers": kafka_broker.bootstrap, "kafka.topic": main,
                       "header.trace": "X-Trace", "flumeBatchSize": "40"}, events)
    try:
        _drain(sink, ch)
    finally:
        sink.stop()
    got = kafka_broker.consume(main, 100)
    assert sorted(m.value() for m in got) == [b"e%03d" % i for i in range(100)]
    for m in got:
        i = int(m.value()[1:])
        assert m.key() == f"user{i % 5}".encode()
        assert m.headers() == [("X-Trace", f"t{i}".encode())]
    by_key: dict[bytes, set[int]] = {}
    for m in got:
        by_key.setdefault(m.key(), set()).add(m.partition())
    assert all(len(parts) == 1 for parts in by_key.values())  # one key, one partition
    (r,) = kafka_broker.consume(other, 1)
    assert r.value() == b"redirected" and r.key() is None
    assert sink.counters.values["EventDrainSuccessCount"] == 101


def test_topic_override_off_and_partition_choice(kafka_broker) -> None:
    main = kafka_broker.create_topic(unique("snk"), partitions=3)
    events = [Event(b"to-2", {"topic": "elsewhere", "p": "2"}), Event(b"default", {"topic": "elsewhere"})]
    sink, ch = _setup({"kafka.bootstrap.servers": kafka_broker.bootstrap, "kafka.topic": main,
                       "allowTopicOverride": "false", "partitionIdHeader": "p", "defaultPartitionId": "1"}, events)
    try:
        _drain(sink, ch)
    finally:
        sink.stop()
    got = {m.value(): m.partition() for m in kafka_broker.consume(main, 2)}
    assert got == {b"to-2": 2, b"default": 1}


def test_flume_event_format_writes_the_exact_avro_datum(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("snk"))
    ev = Event(b"hi", {"a": "b"})
    sink, ch = _setup({"kafka.bootstrap.servers": kafka_broker.bootstrap, "kafka.topic": topic,
                       "useFlumeEventFormat": "true"}, [ev])
    try:
        _drain(sink, ch)
    finally:
        sink.stop()
    (m,) = kafka_broker.consume(topic, 1)
    assert m.value() == bytes.fromhex("02" "0261" "0262" "00" "04" "6869")
    assert avro.decode(m.value()) == ev


def test_failed_send_rolls_the_batch_back(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("snk"), partitions=1)
    events = [Event(b"ok"), Event(b"bad", {"p": "7"})]  # partition 7 does not exist
    sink, ch = _setup({"kafka.bootstrap.servers": kafka_broker.bootstrap, "kafka.topic": topic,
                       "partitionIdHeader": "p", "kafka.producer.message.timeout.ms": "3000"}, events)
    try:
        with pytest.raises(EventDeliveryError, match="rolled back|cannot send"):
            sink.process()
    finally:
        sink.stop()
    assert ch.size() == 2  # both events back in the channel: the transaction did not commit
    assert sink.counters.values["EventDrainSuccessCount"] == 0


def test_legacy_sink_keys_work_with_deprecation_warnings(kafka_broker, agent_process, tmp_path: Path) -> None:
    topic = kafka_broker.create_topic(unique("snk"))
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = 250
        a1.sources.r1.batchSize = 50
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 1000
        a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
        a1.sinks.k1.brokerList = {kafka_broker.bootstrap}
        a1.sinks.k1.topic = {topic}
        a1.sinks.k1.batchSize = 50
        a1.sinks.k1.requiredAcks = all
        a1.sinks.k1.channel = c1
    """)
    checked = run_cli("check", "-f", str(conf), "-n", "a1")
    out = checked.stdout + checked.stderr
    for old, new in (("brokerList", "kafka.bootstrap.servers"), ("topic", "kafka.topic"),
                     ("batchSize", "flumeBatchSize"), ("requiredAcks", "kafka.producer.acks")):
        assert f"a1.sinks.k1.{old}: warning: is deprecated; use {new} instead" in out, out
    agent = agent_process(conf, "a1").start().wait_started()
    got: list = []

    def all_there() -> bool:
        got[:] = kafka_broker.consume(topic, 250, timeout=2)  # from the start each time
        return len(got) >= 250

    wait_until(all_there, 30, what="250 records")
    agent.terminate()
    assert sorted(int(m.value()) for m in got) == list(range(250))
