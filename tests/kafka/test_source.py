"""Kafka source against a real broker: headers, exact delivery, at-least-once across kill -9."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from flumepy.testing import run_pipeline
from tests.kafka.conftest import committed, fast_consumer, unique
from tests.util import wait_until, write_conf


def _source_conf(broker, topic: str, group: str, extra: str = "", sink: str = "") -> str:
    p = "a1.sources.r1."
    return (
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
        f"{p}type = org.apache.flume.source.kafka.KafkaSource\n"
        f"{p}kafka.bootstrap.servers = {broker.bootstrap}\n"
        f"{p}kafka.topics = {topic}\n"
        f"{p}kafka.consumer.group.id = {group}\n"
        f"{p}kafka.consumer.auto.offset.reset = earliest\n"
        f"{p}batchDurationMillis = 200\n"
        f"{p}channels = c1\n"
        + fast_consumer(p) + extra +
        "a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\na1.channels.c1.transactionCapacity = 1000\n"
        + (sink or "a1.sinks.k1.type = flumepy.testing.mocks.RecordingSink\n") + "a1.sinks.k1.channel = c1\n"
    )


def test_records_arrive_with_the_headers_flume_sets(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("src"), partitions=2)
    kafka_broker.produce(topic, [b"with-key", b"no-key"], keys=[b"k1", None],
                         headers=[[("trace", b"abc"), ("other", b"x")], None], partition=1)
    conf = _source_conf(kafka_broker, topic, unique("g"), "a1.sources.r1.header.trace = traceId\n")
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 2, timeout=30)
    by_body = {e.body: e.headers for e in events}
    h = by_body[b"with-key"]
    assert h["topic"] == topic and h["partition"] == "1" and h["offset"] == "0" and h["key"] == "k1"
    assert h["traceId"] == "abc" and "other" not in h and "trace" not in h
    stamps = {m.value(): str(m.timestamp()[1]) for m in kafka_broker.consume(topic, 2)}
    assert h["timestamp"] == stamps[b"with-key"]  # the record's own timestamp
    h2 = by_body[b"no-key"]
    assert h2["offset"] == "1" and "key" not in h2 and "traceId" not in h2


def test_plain_records_get_exactly_flumes_headers(kafka_broker) -> None:
    """The hot path (no header.* mapping, no Flume event format) builds headers lazily from the record:
    the same keys and values as the general path, made when a sink or interceptor reads them."""
    topic = kafka_broker.create_topic(unique("src"), partitions=1)
    kafka_broker.produce(topic, [b"with-key", b"no-key"], keys=[b"k1", None], partition=0)
    conf = _source_conf(kafka_broker, topic, unique("g"))
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 2, timeout=30)
    by_body = {e.body: e.headers for e in events}
    stamps = {m.value(): str(m.timestamp()[1]) for m in kafka_broker.consume(topic, 2)}
    assert by_body[b"with-key"] == {"timestamp": stamps[b"with-key"], "topic": topic, "partition": "0",
                                    "offset": "0", "key": "k1"}
    assert by_body[b"no-key"] == {"timestamp": stamps[b"no-key"], "topic": topic, "partition": "0", "offset": "1"}


def test_topic_header_name_and_switch(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("src"))
    kafka_broker.produce(topic, [b"a"])
    conf = _source_conf(kafka_broker, topic, unique("g"), "a1.sources.r1.topicHeader = from\n")
    with run_pipeline(conf, "a1") as p:
        (ev,) = p.wait_for("k1", 1, timeout=30)
    assert ev.headers["from"] == topic and "topic" not in ev.headers
    conf = _source_conf(kafka_broker, topic, unique("g"), "a1.sources.r1.setTopicHeader = false\n")
    with run_pipeline(conf, "a1") as p:
        (ev,) = p.wait_for("k1", 1, timeout=30)
    assert "topic" not in ev.headers and ev.headers["partition"] == "0"


def test_topics_regex_reads_every_matching_topic(kafka_broker) -> None:
    stem = unique("rx")
    a, b = kafka_broker.create_topic(f"{stem}-a"), kafka_broker.create_topic(f"{stem}-b")
    other = kafka_broker.create_topic(unique("other"))
    kafka_broker.produce(a, [b"from-a"])
    kafka_broker.produce(b, [b"from-b"])
    kafka_broker.produce(other, [b"from-other"])
    conf = _source_conf(kafka_broker, "ignored", unique("g"), f"a1.sources.r1.kafka.topics.regex = {stem}-.*\n")
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 2, timeout=30)
        time.sleep(0.5)
        events = p.sink("k1").snapshot()
    assert {(e.body, e.headers["topic"]) for e in events} == {(b"from-a", a), (b"from-b", b)}


def test_flume_event_format_keeps_the_producers_headers(kafka_broker) -> None:
    from flumepy.core.event import Event
    from flumepy.kafka import avro

    topic = kafka_broker.create_topic(unique("src"))
    kafka_broker.produce(topic, [avro.encode(Event(b"payload", {"host": "web1", "topic": "orig"}))])
    conf = _source_conf(kafka_broker, topic, unique("g"), "a1.sources.r1.useFlumeEventFormat = true\n")
    with run_pipeline(conf, "a1") as p:
        (ev,) = p.wait_for("k1", 1, timeout=30)
    assert ev.body == b"payload"
    assert ev.headers["host"] == "web1" and ev.headers["topic"] == "orig"  # kept, not overwritten
    assert ev.headers["offset"] == "0"


def test_a_record_that_is_not_a_flume_event_stops_the_batch_instead_of_skipping_it(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("src"))
    kafka_broker.produce(topic, [b"plain text, not Avro"])
    conf = _source_conf(kafka_broker, topic, unique("g"), "a1.sources.r1.useFlumeEventFormat = true\n")
    with run_pipeline(conf, "a1") as p:
        p.wait_until(lambda: int(p.metrics()["SOURCE.r1"]["EventReadFail"]) >= 2, 30,
                     what="the bad record read (and refused) again")
        assert p.sink("k1").snapshot() == []
        assert p.metrics()["SOURCE.r1"]["EventAcceptedCount"] == "0"


def test_full_channel_means_records_are_read_again_not_skipped(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("src"), partitions=2)
    values = [b"m%04d" % i for i in range(600)]
    kafka_broker.produce(topic, values)
    conf = _source_conf(kafka_broker, topic, unique("g"), "a1.sources.r1.batchSize = 50\n"
                        "a1.sources.r1.maxBackoffSleep = 100\n"
                        "a1.sources.r1.kafka.consumer.fetch.wait.max.ms = 100\n",  # quick re-reads after a seek
                        sink="a1.sinks.k1.type = flumepy.testing.mocks.SlowSink\na1.sinks.k1.delayMs = 30\n"
                             "a1.sinks.k1.batchSize = 20\n")
    conf = conf.replace("capacity = 10000", "capacity = 60").replace("transactionCapacity = 1000",
                                                                        "transactionCapacity = 50\n"
                                                                        "a1.channels.c1.keep-alive = 0")
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 600, timeout=60)
        fails = p.metrics()["SOURCE.r1"]["ChannelWriteFail"]
    assert int(fails) > 0  # the channel really was full
    assert sorted(e.body for e in events) == values  # every record exactly once


def _file_roll_sink(out: Path) -> str:
    return (f"a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {out}\n"
            "a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.batchSize = 1000\n")


def _lines(out: Path) -> list[bytes]:
    return [ln for f in sorted(out.iterdir()) for ln in f.read_bytes().splitlines()]


def test_agent_moves_topic_to_files_exactly(kafka_broker, agent_process, tmp_path: Path) -> None:
    topic = kafka_broker.create_topic(unique("src"), partitions=3)
    values = [b"line-%05d" % i for i in range(5000)]
    kafka_broker.produce(topic, values, keys=[b"%d" % (i % 7) for i in range(5000)])
    out = tmp_path / "out"
    out.mkdir()
    conf = write_conf(tmp_path, _source_conf(kafka_broker, topic, unique("g"), sink=_file_roll_sink(out)))
    agent = agent_process(conf, "a1").start().wait_started()
    wait_until(lambda: len(_lines(out)) >= 5000, 60, what="5000 lines in file_roll output")
    assert agent.terminate() == 0
    assert sorted(_lines(out)) == values


def test_kill_9_mid_stream_then_restart_loses_nothing(kafka_broker, agent_process, tmp_path: Path) -> None:
    topic = kafka_broker.create_topic(unique("src"), partitions=2)
    group = unique("g")
    out = tmp_path / "out"
    out.mkdir()
    values = [b"v-%05d" % i for i in range(20000)]
    conf = write_conf(tmp_path, _source_conf(kafka_broker, topic, group, "a1.sources.r1.batchSize = 200\n",
                                             sink=_file_roll_sink(out)))
    agent = agent_process(conf, "a1").start()
    agent.wait_for_output(r"kafka source r1: assigned partitions", 30)

    def produce() -> None:  # a steady stream, still going when the agent is killed
        for i in range(0, len(values), 500):
            kafka_broker.produce(topic, values[i:i + 500])
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        wait_until(lambda: len(_lines(out)) >= 1000, 60, what="the first lines in file_roll output")
        agent.terminate(sig=signal.SIGKILL)  # mid-stream: nothing flushed, nothing committed on the way out
        agent2 = agent_process(conf, "a1").start()
    finally:
        producer.join()
    want = set(values)
    wait_until(lambda: want <= set(_lines(out)), 90, what="every record in file_roll output after restart")
    assert agent2.terminate() == 0
    assert set(_lines(out)) == want  # nothing missing, nothing invented; duplicates are allowed (at least once)


def test_offsets_wait_for_the_commit_interval_but_go_out_once_the_source_is_idle(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("src"), partitions=1)
    group = unique("g")
    conf = _source_conf(kafka_broker, topic, group, "a1.sources.r1.commitIntervalMillis = 3600000\n")
    with run_pipeline(conf, "a1") as p:
        kafka_broker.produce(topic, [b"a", b"b"], partition=0)
        p.wait_for("k1", 2, timeout=30)
        wait_until(lambda: committed(kafka_broker, topic, group) == [2], timeout=15, what="the first commit")
        src = p.source("r1")
        kafka_broker.produce(topic, [b"c", b"d", b"e"], partition=0)
        p.wait_for("k1", 5, timeout=30)
        # Within the hour-long interval only an idle poll can send offset 5.
        wait_until(lambda: src.counters.values["KafkaEmptyCount"] > 0 and committed(kafka_broker, topic, group) == [5],
                   timeout=15, what="offset 5 committed by the idle poll")


def test_the_timestamp_column_matches_the_headers_made_one_by_one() -> None:
    """What a SequenceFile sink reads without making events equals each event's timestamp header,
    records without a usable timestamp included (they get the batch's read time)."""
    from confluent_kafka import Message

    from flumepy.sources.kafka import _record_column, _record_headers

    usable = [Message(topic="t", partition=0, offset=i, value=b"v", timestamp=(1, 1700000000000 + i // 2))
              for i in range(5)]
    odd = [Message(topic="t", partition=0, offset=9, value=b"v", timestamp=(0, 0)),
           Message(topic="t", partition=0, offset=10, value=b"v", timestamp=(2, -1))]
    for msgs in (usable, usable + odd):
        column = _record_column("42", None, "timestamp", msgs)
        assert column == [_record_headers("42", None, m)["timestamp"] for m in msgs]
    assert column[-2:] == ["42", "42"]
    assert _record_column("42", None, "offset", usable) is None  # not a column: the sink makes the events
    mixed = [Message(topic=t, partition=p, offset=1, value=b"v", timestamp=(1, 5)) for t, p in (("a", 0), ("b", 3))]
    for topic_header in ("topic", "where", "partition", "timestamp", None):
        for name in ("topic", "where", "partition", "timestamp"):
            column = _record_column("42", topic_header, name, mixed)
            made = [_record_headers("42", topic_header, m).get(name) for m in mixed]
            assert column is None or column == made, (topic_header, name)
    assert _record_column("42", "topic", "topic", mixed) == ["a", "b"]
    assert _record_column("42", "topic", "partition", mixed) == ["0", "3"]


def test_sequence_file_keys_are_the_records_timestamps(kafka_broker, tmp_path: Path) -> None:
    from tests.sinks.hdfs.seqread import parse

    topic = kafka_broker.create_topic(unique("src"), partitions=1)
    values = [b"rec-%d" % i for i in range(50)]
    kafka_broker.produce(topic, values, partition=0)
    out = tmp_path / "out"
    sink = (f"a1.sinks.k1.type = hdfs\na1.sinks.k1.hdfs.path = {out}\na1.sinks.k1.hdfs.rollCount = 0\n"
            "a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.batchSize = 20\n")
    with run_pipeline(_source_conf(kafka_broker, topic, unique("g"), sink=sink), "a1") as p:
        wait_until(lambda: p.sink("k1").counters.get("EventDrainSuccessCount") == 50, 30, what="50 events")
    records = [r for f in sorted(out.iterdir()) for r in parse(f.read_bytes()).records]
    stamps = {m.value(): m.timestamp()[1] for m in kafka_broker.consume(topic, 50)}
    assert [v for _, v in records] == values
    assert [k for k, _ in records] == [stamps[v] for v in values]
