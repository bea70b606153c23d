"""Kafka channel size against a real broker: ChannelSize is the group's backlog in the topic."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from flumepy.channels.kafka import SIZE_TTL
from flumepy.core.event import Event
from tests.fixtures.kafka import KafkaBroker
from tests.kafka.conftest import unique
from tests.kafka.test_channel import _channel, _take
from tests.util import wait_until

# Tansu answers ListOffsets "latest" with the last record *batch* (not record) + 1: one record per
# batch keeps its high watermark exact, as a real Kafka broker's always is.
ONE_PER_BATCH = {"kafka.producer.batch.num.messages": "1", "kafka.producer.linger.ms": "0"}


def test_size_is_what_the_group_has_not_committed(kafka_broker) -> None:
    topic, group = kafka_broker.create_topic(unique("size"), partitions=2), unique("g")
    events = [Event(b"e%d" % i, {"n": str(i)}) for i in range(25)]
    ch = _channel(kafka_broker, topic, group, **ONE_PER_BATCH)
    try:
        assert ch.size() == 0  # an empty topic
        with ch.transaction() as tx:
            tx.put_batch(events)
        wait_until(lambda: ch.size() == 25, 30, what="size() == 25 after a put of 25")
        metrics = ch.counters.snapshot()
        assert (metrics["ChannelSize"], metrics["ChannelCapacity"], metrics["ChannelFillPercentage"]) == \
            ("25", "0", "0.0")
        # Taken but rolled back: still in the channel.
        assert len(_take(ch, 5, commit=False)) == 5
        taken = _take(ch, 10)
        assert len(taken) == 10
        wait_until(lambda: ch.size() == 15, 30, what="size() == 15 after taking 10")
        rest = _take(ch, 15)
        assert sorted(taken + rest, key=lambda e: int(e.headers["n"])) == events
        wait_until(lambda: ch.size() == 0, 30, what="size() == 0 once everything is taken")
    finally:
        ch.stop()


def test_a_new_group_counts_everything_and_another_group_is_not_affected(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("size"))
    writer = _channel(kafka_broker, topic, unique("g"), **ONE_PER_BATCH)
    try:
        with writer.transaction() as tx:
            tx.put_batch([Event(b"x%d" % i) for i in range(7)])
    finally:
        writer.stop()
    first, second = _channel(kafka_broker, topic, unique("g")), _channel(kafka_broker, topic, unique("g"))
    try:
        assert len(_take(first, 7)) == 7
        wait_until(lambda: first.size() == 0, 30, what="the first group's size() == 0")
        assert second.size() == 7  # its own group committed nothing: the whole topic is its backlog
    finally:
        first.stop()
        second.stop()


def test_size_keeps_the_last_figure_while_the_broker_is_down(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    broker = KafkaBroker(tmp_path / "broker").start()
    try:
        topic = broker.create_topic(unique("size"))
        ch = _channel(broker, topic, unique("g"), **ONE_PER_BATCH)
        try:
            with ch.transaction() as tx:
                tx.put_batch([Event(b"y%d" % i) for i in range(4)])
            wait_until(lambda: ch.size() == 4, 30, what="size() == 4")
            broker.stop()
            time.sleep(SIZE_TTL)  # the cached figure is due for a refresh, which fails
            with caplog.at_level(logging.DEBUG, logger="flumepy.channels.kafka"):
                assert ch.size() == 4
            assert "kafka channel c1: size not refreshed" in caplog.text
        finally:
            ch.stop()
    finally:
        broker.stop()


def test_size_is_zero_before_start_and_kept_after_stop(kafka_broker) -> None:
    topic = kafka_broker.create_topic(unique("size"))
    ch = _channel(kafka_broker, topic, unique("g"), **ONE_PER_BATCH)
    with ch.transaction() as tx:
        tx.put_batch([Event(b"z")])
    wait_until(lambda: ch.size() == 1, 30, what="size() == 1")
    ch.stop()
    assert ch.size() == 1  # no broker call once stopped: the last figure
