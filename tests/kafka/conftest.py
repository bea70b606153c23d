"""Helpers for the kafka tests: unique names and the consumer settings every test shares."""

from __future__ import annotations

import uuid

# Tansu blocks a group join for about half of session.timeout.ms: keep joins short in tests.
FAST = "kafka.consumer.session.timeout.ms = 6000\n{p}kafka.consumer.heartbeat.interval.ms = 1000\n"


def fast_consumer(prefix: str) -> str:
    """Properties lines (for ``prefix`` = 'a1.sources.r1.') giving the component fast group joins."""
    return f"{prefix}" + FAST.format(p=prefix)


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def committed(broker, topic: str, group: str, partitions: int = 1) -> list[int]:
    """The group's offsets committed in Kafka, per partition (-1001: none)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return [tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)]
    finally:
        c.close()
