"""Type ``kafka``: Flume's KafkaChannel — a Kafka topic as a durable, shared channel.

Puts are buffered in the transaction and produced at commit, which returns only once the broker
acknowledged every record (a failed record fails the commit: the source retries).  Takes consume
from the topic as a member of ``kafka.consumer.group.id`` (one consumer per taking thread, as
Flume's ThreadLocal consumers); the commit commits the next offsets synchronously, a rollback seeks
back so the same events are taken again.  A channel with only sources (or only sinks) attached is
fine: several agents can share one topic as their buffer.

With ``parseAsFlumeEvent`` (default) records are Flume Avro events (headers kept), else the record
value is the body and the headers are empty.

``size()`` (the ChannelSize gauge) is the topic's backlog for the consumer group: records not yet
committed by it, asked of the brokers at most once a second (a metrics read never waits longer
than SIZE_TIMEOUT; on errors the last figure stays).  The channel has no capacity: ChannelCapacity
is 0 and ChannelFillPercentage 0.0.  With the legacy ``zookeeperConnect``, ``migrateZookeeperOffsets``
seeds a group that has no Kafka offsets from its old ZooKeeper ones at start, as Flume does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from flumepy.core.component import Channel
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError, FlumeError
from flumepy.core.event import Event
from flumepy.core.transaction import Transaction
from flumepy.kafka import avro
from flumepy.kafka.client import (
    CONSUMER_DEFAULTS,
    FORCED_CONSUMER,
    backlog,
    callbacks,
    describe_error,
    import_confluent,
    passthrough,
    producer_record,
    quiet_callbacks,
    release,
    resolve_bootstrap,
)

log = logging.getLogger(__name__)

SIZE_TTL = 1.0  # seconds a backlog figure is served before the brokers are asked again
SIZE_TIMEOUT = 1.0  # the longest size() waits for the brokers


class KafkaChannel(Channel):
    """A channel kept in a Kafka topic: survives restarts, shareable between agents."""

    TYPE_NAME = "kafka"
    PROPS = (
        Prop("kafka.bootstrap.servers", "string", None, "Kafka brokers, host:port,... (required unless the "
             "legacy zookeeperConnect is set)."),
        Prop("kafka.topic", "string", "flume-channel", "Topic holding the channel's events."),
        Prop("kafka.consumer.group.id", "string", "flume", "Consumer group of the taking side (one per channel)."),
        Prop("parseAsFlumeEvent", "bool", True, "Records are Flume Avro events (headers kept); false: the record "
             "value is the body, no headers."),
        Prop("kafka.pollTimeout", "int", 500, "Milliseconds a take waits for records.", min=0),
        Prop("defaultPartitionId", "int", None, "Put every event in this partition.", min=0),
        Prop("partitionIdHeader", "string", None, "Header holding the partition to put an event in."),
        Prop("kafka.producer.acks", "string", "all", "Acknowledgements a put waits for.",
             choices=("0", "1", "all", "-1")),
        Prop("kafka.consumer.auto.offset.reset", "string", "earliest", "Where a group with no offsets starts.",
             choices=("earliest", "latest", "smallest", "largest", "error")),
        Prop("migrateZookeeperOffsets", "bool", True, "With zookeeperConnect: start a group that has no Kafka "
             "offsets from the offsets its old consumers kept in ZooKeeper."),
        Prop("kafka.producer.", prefix=True, doc="Passed to the producer (librdkafka names)."),
        Prop("kafka.consumer.", prefix=True, doc="Passed to the consumers (librdkafka names); enable.auto.commit "
             "is always false."),
        # Flume <= 1.6
        Prop("brokerList", "string", None, "Legacy broker list.", deprecated="kafka.bootstrap.servers"),
        Prop("topic", "string", None, "Legacy topic.", deprecated="kafka.topic"),
        Prop("groupId", "string", None, "Legacy consumer group id.", deprecated="kafka.consumer.group.id"),
        Prop("zookeeperConnect", "string", None, "Legacy: ZooKeeper to look the brokers up in.",
             deprecated="kafka.bootstrap.servers"),
        Prop("readSmallestOffset", "bool", None, "Legacy: true = earliest, false = latest.",
             deprecated="kafka.consumer.auto.offset.reset"),
        Prop("pollTimeout", "int", None, "Legacy spelling of kafka.pollTimeout.", min=0,
             deprecated="kafka.pollTimeout"),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bootstrap: str | None = None
        self.zookeeper: str | None = None
        self.topic = "flume-channel"
        self.producer_config: dict[str, str] = {}
        self.consumer_config: dict[str, str] = {}
        self.servers = ""
        self._producer: Any = None
        self._local = threading.local()
        self._consumers: list[Any] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # size(): a group member that never joins, asking for watermarks and committed offsets.
        self._sizer: Any = None
        self._size_lock = threading.Lock()
        self._size = 0
        self._size_at = -1e9
        g = self.counters.gauges
        g["ChannelSize"] = self.size
        g["ChannelCapacity"] = lambda: 0  # none: the topic is the limit
        g["ChannelFillPercentage"] = lambda: 0.0

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if "zookeeperConnect" in ctx:
            self.zookeeper = s["zookeeperConnect"]
            if "kafka.bootstrap.servers" not in ctx and "brokerList" not in ctx:
                s["kafka.bootstrap.servers"] = None
        self.bootstrap = s["kafka.bootstrap.servers"]
        if not self.bootstrap and not self.zookeeper:
            raise ctx.error("kafka.bootstrap.servers", "is required: the Kafka brokers, host:port,...")
        reset = s["kafka.consumer.auto.offset.reset"]
        if "readSmallestOffset" in ctx and "kafka.consumer.auto.offset.reset" not in ctx:
            reset = "earliest" if s["readSmallestOffset"] else "latest"
        self.topic = s["kafka.topic"]
        self.producer_config = passthrough(ctx, "kafka.producer.")
        self.producer_config["acks"] = s["kafka.producer.acks"]
        self.producer_config.setdefault("partitioner", "murmur2_random")
        self.consumer_config = passthrough(ctx, "kafka.consumer.", FORCED_CONSUMER, CONSUMER_DEFAULTS)
        self.consumer_config["auto.offset.reset"] = reset
        self.consumer_config["group.id"] = s["kafka.consumer.group.id"]

    def start(self) -> None:
        ck = import_confluent()
        self._stopping.clear()
        self.servers = resolve_bootstrap(self.bootstrap, self.zookeeper, self.producer_config)
        if self.zookeeper and self.settings["migrateZookeeperOffsets"]:
            from flumepy.kafka.zookeeper import migrate_offsets

            migrate_offsets(self.zookeeper, self._consumer_conf(quiet_callbacks(f"kafka channel {self.name}")),
                            [self.topic], f"kafka channel {self.name}")
        self._size_at = -1e9
        try:
            self._producer = ck.Producer({**self.producer_config, "bootstrap.servers": self.servers,
                                          **callbacks(f"kafka channel {self.name}")})
        except ck.KafkaException as e:
            raise FlumeError(f"kafka channel {self.name}: bad producer settings: {e}") from None
        log.info("kafka channel %s: topic %s at %s", self.name, self.topic, self.servers)
        super().start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            clients, self._consumers = self._consumers, []  # every client, closed and freed by release()
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(5)
            clients.append(producer)
            del producer
        with self._size_lock:
            if self._sizer is not None:
                clients.append(self._sizer)
                self._sizer = None
        self._local = threading.local()  # the sink threads' references to their consumers
        release(f"kafka channel {self.name}", clients)
        super().stop()

    def size(self) -> int:
        """Records in the topic not yet committed by the group (cached SIZE_TTL; the last figure on errors)."""
        if self.lifecycle != "START" or self._stopping.is_set() or time.monotonic() < self._size_at + SIZE_TTL:
            return self._size
        if not self._size_lock.acquire(blocking=False):
            return self._size  # another thread is asking the brokers right now
        try:
            if not self._stopping.is_set() and time.monotonic() >= self._size_at + SIZE_TTL:
                self._size = self._ask_size()
        except Exception as e:  # broker down or slow: keep the last figure
            log.debug("kafka channel %s: size not refreshed: %s", self.name, e)
        finally:
            self._size_at = time.monotonic()
            self._size_lock.release()
        return self._size

    def _ask_size(self) -> int:
        ck = import_confluent()
        if self._sizer is None:
            self._sizer = ck.Consumer(self._consumer_conf(quiet_callbacks(f"kafka channel {self.name} (size)")))
        self._sizer.poll(0)  # serves its callbacks (never subscribed: no records, no group join)
        reset = self.consumer_config.get("auto.offset.reset", "earliest")
        return int(backlog(self._sizer, self.topic, SIZE_TIMEOUT, from_earliest=reset not in ("latest", "largest")))

    def _consumer_conf(self, cbs: dict[str, Any]) -> dict[str, Any]:
        return {**self.consumer_config, "bootstrap.servers": self.servers, **cbs}

    def transaction(self) -> Transaction:
        return _KafkaTransaction(self)


    # -- for transactions ----------------------------------------------------------------------
    def consumer(self) -> Any:
        """This thread's consumer, created (and subscribed) on its first take."""
        c = getattr(self._local, "consumer", None)
        if c is not None:
            return c
        ck = import_confluent()
        if self.lifecycle != "START":
            raise ChannelError(f"kafka channel {self.name} is not started")
        try:
            c = ck.Consumer(self._consumer_conf(callbacks(f"kafka channel {self.name}")))
        except ck.KafkaException as e:
            raise ChannelError(f"kafka channel {self.name}: bad consumer settings: {e}") from None
        c.subscribe([self.topic], on_assign=self._on_assign)
        with self._lock:
            self._consumers.append(c)
        self._local.consumer = c
        return c

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        log.info("kafka channel %s: assigned partitions %s", self.name,
                 ", ".join(f"{p.topic}-{p.partition}" for p in partitions) or "(none)")

    def record(self, ev: Event) -> dict[str, Any]:
        s = self.settings
        try:
            return producer_record(ev, s["parseAsFlumeEvent"], s["partitionIdHeader"], s["defaultPartitionId"])
        except ValueError as e:
            raise ChannelError(f"kafka channel {self.name}: {e}") from None

    def produce(self, events: Sequence[Event]) -> None:
        """Send ``events`` and wait until the broker acknowledged all of them; ChannelError otherwise."""
        ck = import_confluent()
        producer = self._producer
        if producer is None:
            raise ChannelError(f"kafka channel {self.name} is not started")
        done: list[Any] = []

        def report(err: Any, _msg: Any) -> None:
            done.append(err)

        for ev in events:
            rec = self.record(ev)
            while True:
                try:
                    producer.produce(self.topic, on_delivery=report, **rec)
                    break
                except BufferError:
                    producer.poll(0.05)
                except ck.KafkaException as e:
                    raise ChannelError(f"kafka channel {self.name}: cannot send to {self.topic}: {e}") from None
        n = len(events)
        while len(done) < n:
            producer.poll(0.1)
            if self._stopping.is_set() and len(done) < n:
                raise ChannelError(f"kafka channel {self.name}: stopped before the broker acknowledged a put")
        errors = [e for e in done if e is not None]
        if errors:
            raise ChannelError(f"kafka channel {self.name}: {len(errors)} of {n} events not acknowledged by "
                               f"the broker: {describe_error(errors[0])}")

    def decode(self, m: Any) -> Event:
        if self.settings["parseAsFlumeEvent"]:
            try:
                return avro.decode(m.value() or b"")
            except ValueError as e:
                raise ChannelError(f"kafka channel {self.name}: record {m.topic()}-{m.partition()}@{m.offset()} "
                                   f"is not a Flume Avro event ({e}); set parseAsFlumeEvent = false for plain "
                                   "records") from None
        return Event(m.value() or b"", {})


class _KafkaTransaction(Transaction):
    __slots__ = ("ch", "puts", "first", "last", "consumer", "taken")

    def __init__(self, ch: KafkaChannel) -> None:
        super().__init__()
        self.ch = ch
        self.puts: list[Event] = []
        self.first: dict[tuple[str, int], int] = {}
        self.last: dict[tuple[str, int], int] = {}
        self.consumer: Any = None
        self.taken = 0

    def _do_put_batch(self, events: Sequence[Event]) -> None:
        self.ch.counters.values["EventPutAttemptCount"] += len(events)
        self.puts.extend(events)

    def _do_take_batch(self, max_events: int) -> list[Event]:
        ch = self.ch
        ch.counters.values["EventTakeAttemptCount"] += 1
        consumer = self.consumer = ch.consumer()
        msgs = []
        m = consumer.poll(ch.settings["kafka.pollTimeout"] / 1000.0)  # first record: wait up to pollTimeout
        if m is not None:
            msgs.append(m)
            if max_events > 1:
                msgs.extend(consumer.consume(max_events - 1, 0))  # the rest: whatever is already fetched
        out = []
        try:
            for m in msgs:
                if m.error() is not None:
                    if m.error().code() != -191:  # not just _PARTITION_EOF
                        log.warning("kafka channel %s: %s", ch.name, describe_error(m.error()))
                    continue
                tp = (m.topic(), m.partition())
                self.first.setdefault(tp, m.offset())
                self.last[tp] = m.offset()
                out.append(ch.decode(m))
        except ChannelError:
            out = []
            self._seek_back()
            raise
        self.taken += len(out)
        return out

    def _seek_back(self) -> None:
        if not self.first or self.consumer is None:
            return
        ck = import_confluent()
        for (topic, part), off in self.first.items():
            try:
                self.consumer.seek(ck.TopicPartition(topic, part, off))
            except ck.KafkaException as e:  # partition no longer ours: its new owner reads from the commit
                log.debug("kafka channel %s: seek %s-%d: %s", self.ch.name, topic, part, e)
        self.first = {}
        self.last = {}
        self.taken = 0

    def _do_commit(self) -> None:
        ch = self.ch
        c = ch.counters.values
        if self.puts:
            t0 = time.monotonic()
            ch.produce(self.puts)
            c["EventPutSuccessCount"] += len(self.puts)
            log.debug("kafka channel %s: put %d in %.3fs", ch.name, len(self.puts), time.monotonic() - t0)
            self.puts = []
            ch.puts_committed()
        if self.last:
            ck = import_confluent()
            offsets = [ck.TopicPartition(t, p, o + 1) for (t, p), o in self.last.items()]
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            except ck.KafkaException as e:
                raise ChannelError(f"kafka channel {ch.name}: offset commit failed: {e}") from None
            c["EventTakeSuccessCount"] += self.taken
            self.taken = 0
            self.first = {}
            self.last = {}

    def _do_rollback(self) -> None:
        self.puts = []
        self._seek_back()
