"""Client settings shared by the kafka source, sink and channel (confluent-kafka / librdkafka)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flumepy.core.context import Context
from flumepy.core.errors import FlumeError
from flumepy.core.event import Event
from flumepy.kafka import avro

log = logging.getLogger(__name__)

# Java client settings that have no librdkafka counterpart (the Python client handles bytes itself).
JAVA_ONLY = {
    "key.serializer", "value.serializer", "key.deserializer", "value.deserializer", "max.poll.records",
    "interceptor.classes", "partitioner.class", "max.block.ms", "buffer.memory", "ssl.truststore.type",
    "ssl.keystore.type", "exclude.internal.topics", "default.api.timeout.ms", "max.poll.interval.ms.unused",
}

# Consumer settings flumepy always sets itself.
FORCED_CONSUMER = {"enable.auto.commit": "false", "enable.auto.offset.store": "false"}

# Consumer settings flumepy changes from librdkafka's defaults (a kafka.consumer.* key still wins).
# fetch.queue.backoff.ms: librdkafka stops fetching a partition for this long (1000 ms by default) each
# time its prefetch queue passes queued.min.messages; a consumer that catches up then sits idle for most
# of that second. 10 ms keeps it fed (measured: 1 s stalls in half the runs of a 300k-record read).
CONSUMER_DEFAULTS = {"fetch.queue.backoff.ms": "10"}


def passthrough(ctx: Context, prefix: str, forced: dict[str, str] | None = None,
                defaults: dict[str, str] | None = None) -> dict[str, str]:
    """The ``prefix*`` keys of ``ctx`` (``kafka.consumer.``/``kafka.producer.``) as client settings.

    Java-only settings are dropped with a warning; settings flumepy must control are forced (with a
    warning when the config asked for something else); ``defaults`` fill in what the config left out.
    """
    out: dict[str, str] = dict(defaults or {})
    for key, value in ctx.sub(prefix).items():
        if key in JAVA_ONLY:
            ctx.warn(prefix + key, "is a Java client setting with no librdkafka counterpart; ignored")
            continue
        if forced and key in forced and value.strip().lower() != forced[key]:
            ctx.warn(prefix + key, f"is always {forced[key]} here (offsets are committed after the channel "
                                   "transaction); ignored")
            continue
        out[key] = value.strip()
    if forced:
        out.update(forced)
    return out


def import_confluent() -> Any:
    try:
        import confluent_kafka
    except ImportError:
        raise FlumeError("the kafka components need confluent-kafka: pip install 'flumepy[kafka]'") from None
    return confluent_kafka


def resolve_bootstrap(bootstrap: str | None, zookeeper: str | None, config: dict[str, str]) -> str:
    """The broker list: ``kafka.bootstrap.servers``, or looked up in ZooKeeper (legacy zookeeperConnect)."""
    if bootstrap:
        return bootstrap
    assert zookeeper, "configure() requires one of them"
    from flumepy.kafka.zookeeper import lookup_brokers

    protocol = config.get("security.protocol", "PLAINTEXT")
    servers = lookup_brokers(zookeeper, protocol)
    log.info("Kafka brokers from ZooKeeper %s: %s", zookeeper, servers)
    return servers


def describe_error(err: Any) -> str:
    """A KafkaError as text: name and message."""
    try:
        return f"{err.name()}: {err.str()}"
    except Exception:
        return str(err)


def backlog(consumer: Any, topic: str, timeout: float, from_earliest: bool = True) -> int:
    """Records of ``topic`` that ``consumer``'s group has not committed yet (its lag).

    The sum over the partitions of the high watermark minus the committed offset; a partition with
    no committed offset counts from its low watermark (``from_earliest``, as auto.offset.reset =
    earliest reads it) or not at all.  ``consumer`` needs ``group.id`` but no subscription.  Every
    broker request shares ``timeout`` seconds: TimeoutError past it, KafkaException on errors.
    """
    ck = import_confluent()
    deadline = time.monotonic() + timeout

    def left() -> float:
        rest = deadline - time.monotonic()
        if rest <= 0:
            raise TimeoutError(f"no answer from the brokers within {timeout:g}s")
        return rest

    meta = consumer.list_topics(topic, timeout=left()).topics.get(topic)
    if meta is not None and meta.error is not None:
        if meta.error.code() == ck.KafkaError.UNKNOWN_TOPIC_OR_PART:
            return 0  # nothing was ever put
        raise ck.KafkaException(meta.error)
    if meta is None or not meta.partitions:
        return 0
    total = 0
    for tp in consumer.committed([ck.TopicPartition(topic, p) for p in sorted(meta.partitions)], timeout=left()):
        if tp.error is not None:
            raise ck.KafkaException(tp.error)
        marks = consumer.get_watermark_offsets(ck.TopicPartition(topic, tp.partition), timeout=left())
        if marks is None:
            raise TimeoutError(f"no watermarks of {topic}-{tp.partition} within {timeout:g}s")
        low, high = marks
        if tp.offset >= 0:
            start = max(tp.offset, low)  # records below low are gone (retention)
        else:
            start = low if from_earliest else high
        total += max(high - start, 0)
    return total


class _RdkafkaLog:
    """librdkafka's own log lines (served during poll calls), at DEBUG under flumepy.kafka.librdkafka:
    errors worth a user's attention come through the error callback instead."""

    def __init__(self) -> None:
        self._log = logging.getLogger("flumepy.kafka.librdkafka")

    def log(self, level: int, fmt: str, *args: Any) -> None:
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug(fmt, *args)


class ErrorReporter:
    """A client's error callback: one WARNING per distinct error every ``quiet`` seconds (a broker that
    is down makes librdkafka report the same connection error on every retry)."""

    def __init__(self, what: str, quiet: float = 30.0) -> None:
        self.what = what
        self.quiet = quiet
        self._last: dict[str, float] = {}

    def __call__(self, err: Any) -> None:
        import time

        text = describe_error(err)
        now = time.monotonic()
        if now - self._last.get(text, -1e9) < self.quiet:
            log.debug("%s: %s", self.what, text)
            return
        self._last[text] = now
        log.warning("%s: %s", self.what, text)


RELEASE_TIMEOUT = 15.0  # seconds a stop waits for its Kafka clients to close before going on without them


def release(what: str, clients: list[Any], timeout: float = RELEASE_TIMEOUT) -> bool:
    """Close the consumers among ``clients`` and free them all (librdkafka's destroy) on a daemon
    thread, waiting at most ``timeout`` seconds; True when that finished in time.

    A consumer's close waits for its group coordinator, and a client's destroy has been seen to hang
    on a request the broker never answered (librdkafka#1640): neither may keep an agent from stopping.
    ``clients`` is emptied so that the thread holds the last references; the caller must keep none.
    """
    held = clients[:]
    clients.clear()
    done = threading.Event()

    def run() -> None:
        try:
            while held:
                client = held.pop()
                try:
                    if hasattr(client, "consume"):  # a consumer: leave the group, then destroy
                        client.close()
                except Exception as e:
                    log.warning("%s: closing a Kafka consumer: %s", what, e)
                del client  # the last reference: librdkafka's destroy runs here
        finally:
            done.set()

    threading.Thread(target=run, name=f"release {what}", daemon=True).start()
    if done.wait(timeout):
        return True
    log.warning("%s: its Kafka client did not close within %gs; stopping without waiting for it", what,
                timeout)
    return False


def callbacks(what: str) -> dict[str, Any]:
    """Client settings routing librdkafka's errors and log lines into logging, for ``what`` (a component)."""
    return {"error_cb": ErrorReporter(what), "logger": _RdkafkaLog()}


def quiet_callbacks(what: str) -> dict[str, Any]:
    """As callbacks(), but errors only at DEBUG: for helper clients (metrics) whose failures the
    component's main clients already report."""

    def error_cb(err: Any) -> None:
        log.debug("%s: %s", what, describe_error(err))

    return {"error_cb": error_cb, "logger": _RdkafkaLog()}


def producer_record(ev: Event, flume_format: bool, partition_header: str | None,
                    default_partition: int | None) -> dict[str, Any]:
    """``produce()`` arguments for an event, as Flume's KafkaSink and KafkaChannel derive them: the
    value (the body, or the Flume Avro event with ``flume_format``), the key (the ``key`` header) and
    the partition (``partition_header``'s value, else ``default_partition``).  ValueError naming the
    header when its value is not a partition number."""
    h = ev.headers
    rec: dict[str, Any] = {"value": avro.encode(ev) if flume_format else ev.body}
    key = h.get("key")
    if key is not None:
        rec["key"] = key.encode("utf-8")
    part = default_partition
    if partition_header:
        raw = h.get(partition_header)
        if raw is not None:
            try:
                part = int(raw)
            except ValueError:
                raise ValueError(f"header {partition_header}={raw!r} is not a partition number") from None
    if part is not None:
        rec["partition"] = part
    return rec
