"""flumepy.kafka.client: how kafka.consumer.* / kafka.producer.* keys become librdkafka settings."""

from __future__ import annotations

from flumepy.core.context import Context
from flumepy.kafka.client import CONSUMER_DEFAULTS, FORCED_CONSUMER, passthrough


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
