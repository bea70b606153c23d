"""flumepy.kafka.client: how kafka.consumer.* / kafka.producer.* keys become librdkafka settings."""

from __future__ import annotations

import logging
import threading
import weakref

import pytest

from flumepy.core.context import Context
from flumepy.kafka.client import CONSUMER_DEFAULTS, FORCED_CONSUMER, passthrough, release


def _ctx(values: dict[str, str]) -> Context:
    return Context(values, prefix="a1.sources.r1.")


def test_consumer_defaults_fill_in_and_the_config_wins() -> None:
    got = passthrough(_ctx({"kafka.consumer.auto.offset.reset": "earliest"}), "kafka.consumer.", FORCED_CONSUMER,
                      CONSUMER_DEFAULTS)
    assert got == {"auto.offset.reset": "earliest", "fetch.queue.backoff.ms": "10", "enable.auto.commit": "false",
                   "enable.auto.offset.store": "false"}
    ctx = _ctx({"kafka.consumer.fetch.queue.backoff.ms": "500"})
    assert passthrough(ctx, "kafka.consumer.", FORCED_CONSUMER, CONSUMER_DEFAULTS)["fetch.queue.backoff.ms"] == "500"
    assert not ctx.problems  # a setting the user may choose: no warning


def test_forced_settings_win_with_a_warning_and_java_only_ones_are_dropped() -> None:
    ctx = _ctx({"kafka.consumer.enable.auto.commit": "true", "kafka.consumer.max.poll.records": "10"})
    got = passthrough(ctx, "kafka.consumer.", FORCED_CONSUMER, CONSUMER_DEFAULTS)
    assert got["enable.auto.commit"] == "false" and "max.poll.records" not in got
    assert sorted(p.key for p in ctx.problems) == ["a1.sources.r1.kafka.consumer.enable.auto.commit",
                                                   "a1.sources.r1.kafka.consumer.max.poll.records"]


class _Consumer:
    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.closed_on: str | None = None

    def consume(self) -> None:  # what marks a consumer
        raise AssertionError("not called")

    def close(self) -> None:
        self.closed_on = threading.current_thread().name
        if self.gate is not None:
            self.gate.wait(10)


class _Producer:
    pass


def test_release_closes_consumers_and_drops_every_client_off_the_callers_thread() -> None:
    consumer, producer = _Consumer(), _Producer()
    gone = []
    weakref.finalize(consumer, gone.append, "consumer")
    weakref.finalize(producer, lambda: gone.append((threading.current_thread().name, "producer")))
    held = [consumer, producer]
    closed = consumer
    del consumer, producer
    assert release("kafka sink k", held) is True
    assert held == []
    assert closed.closed_on == "release kafka sink k"
    probe = weakref.ref(closed)
    del closed
    assert probe() is None and ("release kafka sink k", "producer") in gone


def test_a_client_that_does_not_close_in_time_is_left_behind_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    stuck = _Consumer(gate)
    try:
        with caplog.at_level(logging.WARNING):
            assert release("kafka channel c1", [stuck], timeout=0.2) is False
        assert "kafka channel c1: its Kafka client did not close within 0.2s" in caplog.text
    finally:
        gate.set()
