"""Type ``kafka``: Flume's KafkaSource — a consumer-group member that moves records to the channels.

Each poll collects up to ``batchSize`` records or waits ``batchDurationMillis`` from the first one,
puts them on the channels in one batch and only then commits the next offsets of every partition in
the batch (``enable.auto.commit`` is always off).  The commit is asynchronous: it is issued after the
channel commit, at most every ``commitIntervalMillis`` (100; Flume commits every batch) and at once
when a poll finds nothing, and travels while the next batch is polled; a failed one is logged and
issued again (later batches commit higher offsets anyway).  Offsets delivered but not yet committed
are committed synchronously when partitions are revoked and when the source stops, so a clean stop
or a rebalance re-reads nothing; only a crash can re-read the last ~100 ms of records (at least once).
If the channel put fails, the consumer seeks back to the batch's first offsets so the same records
are read again: never skipped.  A rebalance that takes partitions away mid-batch drops that batch's records of those
partitions (nothing was committed for them; their new owner reads them from the committed offset).

Legacy (Flume <= 1.6) keys ``topic``, ``groupId`` and ``zookeeperConnect`` are accepted with a
deprecation warning; ``zookeeperConnect`` without ``kafka.bootstrap.servers`` looks the brokers up in
ZooKeeper when the source starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from operator import itemgetter, methodcaller
from typing import Any

from flumepy.core.component import PollableSource, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError, FlumeError
from flumepy.core.event import Event, EventBatch, HomeFree
from flumepy.kafka import avro
from flumepy.kafka.client import (
    CONSUMER_DEFAULTS,
    FORCED_CONSUMER,
    callbacks,
    describe_error,
    import_confluent,
    passthrough,
    release,
    resolve_bootstrap,
)
from flumepy.kafka.zookeeper import migrate_offsets

log = logging.getLogger(__name__)

COMMIT_RETRIES = 3


class KafkaSource(PollableSource):
    """Reads Kafka topics as a consumer group member; offsets committed after the channel commit."""

    TYPE_NAME = "kafka"
    PROPS = (
        Prop("kafka.bootstrap.servers", "string", None, "Kafka brokers, host:port,... (required unless the "
             "legacy zookeeperConnect is set)."),
        Prop("kafka.topics", "csv", None, "Comma-separated topics to read."),
        Prop("kafka.topics.regex", "regex", None, "Read every topic matching this regex (overrides kafka.topics)."),
        Prop("kafka.consumer.group.id", "string", "flume", "Consumer group id."),
        Prop("batchSize", "int", 1000, "Most records per channel batch.", min=1),
        Prop("batchDurationMillis", "int", 1000, "Longest wait in ms for a batch to fill, from its first record.",
             min=1),
        Prop("backoffSleepIncrement", "int", 50, "Milliseconds added to the sleep after each empty poll.", min=1),
        Prop("maxBackoffSleep", "int", 1000, "Longest sleep in milliseconds between empty polls.", min=1),
        Prop("useFlumeEventFormat", "bool", False, "Record values are Flume Avro events (their headers are kept)."),
        Prop("setTopicHeader", "bool", True, "Add the record's topic as a header."),
        Prop("topicHeader", "string", "topic", "Name of the topic header."),
        Prop("commitIntervalMillis", "int", 100, "flumepy extension: offsets are committed (after the channel "
             "commit) at most this often; pending ones go out when the source is idle, on a rebalance and at stop. "
             "0 = after every batch, as Flume.", min=0),
        Prop("migrateZookeeperOffsets", "bool", True, "With zookeeperConnect: start a group that has no Kafka "
             "offsets from the offsets its old consumers kept in ZooKeeper."),
        Prop("header.", prefix=True, doc="header.<kafkaHeader> = <flumeHeader>: copy a Kafka record header."),
        Prop("kafka.consumer.", prefix=True, doc="Passed to the consumer (librdkafka names); enable.auto.commit "
             "is always false. auto.offset.reset keeps the client default, latest."),
        # Flume <= 1.6
        Prop("topic", "csv", None, "Legacy topic to read.", deprecated="kafka.topics"),
        Prop("groupId", "string", None, "Legacy consumer group id.", deprecated="kafka.consumer.group.id"),
        Prop("zookeeperConnect", "string", None, "Legacy: ZooKeeper to look the brokers up in (host:port[/chroot]).",
             deprecated="kafka.bootstrap.servers"),
        Prop("backoffStepMillis", "int", None, "Alias of backoffSleepIncrement.", min=1,
             deprecated="backoffSleepIncrement"),
        Prop("maxBackoffMillis", "int", None, "Alias of maxBackoffSleep.", min=1, deprecated="maxBackoffSleep"),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        for k in ("KafkaEventGetTimer", "KafkaCommitTimer", "KafkaEmptyCount"):
            self.counters.values[k] = 0
        self.bootstrap: str | None = None
        self.zookeeper: str | None = None
        self.topics: list[str] = []
        self.pattern: str | None = None
        self.group = "flume"
        self.config: dict[str, str] = {}
        self.header_map: dict[str, str] = {}
        self._consumer: Any = None
        self._lock = threading.Lock()
        self._assigned: set[tuple[str, int]] = set()
        self._revoked: set[tuple[str, int]] = set()  # revoked while a batch was being collected
        # Next offsets issued by asynchronous commits (channel already committed), and those whose
        # commit failed and must be issued again.
        self._issued: dict[tuple[str, int], int] = {}
        self._failed: dict[tuple[str, int], int] = {}
        self._unsent: dict[tuple[str, int], int] = {}  # next offsets delivered but not yet committed
        self._next_commit = 0.0  # monotonic time the next asynchronous commit may go out
        self._ck: Any = None
        self._topic_header: str | None = None
        self._home = HomeFree()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if "zookeeperConnect" in ctx:
            self.zookeeper = s["zookeeperConnect"]
            if "kafka.bootstrap.servers" not in ctx:
                s["kafka.bootstrap.servers"] = None  # not a broker list: looked up at start
        self.bootstrap = s["kafka.bootstrap.servers"]
        if not self.bootstrap and not self.zookeeper:
            raise ctx.error("kafka.bootstrap.servers", "is required: the Kafka brokers, host:port,...")
        regex = s["kafka.topics.regex"]
        self.topics = list(s["kafka.topics"] or [])
        if regex is not None:
            self.pattern = regex.pattern if regex.pattern.startswith("^") else "^" + regex.pattern
        elif not self.topics:
            raise ctx.error("kafka.topics", "is required: the topics to read (or kafka.topics.regex)")
        self.group = s["kafka.consumer.group.id"]
        self.batch_size = s["batchSize"]
        self.header_map = dict(s["header."].items())
        self.config = passthrough(ctx, "kafka.consumer.", FORCED_CONSUMER, CONSUMER_DEFAULTS)
        self.config.pop("group.id", None)
        self._topic_header = s["topicHeader"] if s["setTopicHeader"] else None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        ck = self._ck = import_confluent()
        servers = resolve_bootstrap(self.bootstrap, self.zookeeper, self.config)
        conf: dict[str, Any] = {**self.config, "bootstrap.servers": servers, "group.id": self.group,
                                **callbacks(f"kafka source {self.name}"), "on_commit": self._on_commit}
        if self.zookeeper and self.settings["migrateZookeeperOffsets"] and self.topics:
            plain = {k: v for k, v in conf.items() if k != "on_commit"}
            migrate_offsets(self.zookeeper, plain, self.topics, f"kafka source {self.name}")
        try:
            consumer = ck.Consumer(conf)
        except ck.KafkaException as e:
            raise FlumeError(f"kafka source {self.name}: bad consumer settings: {e}") from None
        subs = [self.pattern] if self.pattern else self.topics
        consumer.subscribe(subs, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        with self._lock:
            self._consumer = consumer
        log.info("kafka source %s: subscribed to %s at %s as group %s", self.name, ", ".join(subs), servers,
                 self.group)
        super().start()

    def stop(self) -> None:
        with self._lock:
            consumer, self._consumer = self._consumer, None
            if consumer is not None:
                if self._commit_sync(consumer, self._issued, "stopping"):
                    self._issued.clear()  # nothing left for the revoke that close() triggers
                    self._unsent.clear()
                held = [consumer]
                del consumer
                release(f"kafka source {self.name}", held)
                self._assigned.clear()
            self._home.clear()
        super().stop()


    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._assigned.update((p.topic, p.partition) for p in partitions)
        log.info("kafka source %s: assigned partitions %s", self.name,
                 ", ".join(f"{p.topic}-{p.partition}" for p in partitions) or "(none)")

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        # Make the asynchronous commits of these partitions final while they are still ours.
        self._commit_sync(consumer, {tp: o for tp, o in self._issued.items() if tp in gone}, "revoked")
        self._on_lost(consumer, partitions)

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        for tp in gone:
            self._issued.pop(tp, None)
            self._failed.pop(tp, None)
            self._unsent.pop(tp, None)
        self._assigned.difference_update(gone)
        self._revoked.update(gone)
        log.info("kafka source %s: partitions revoked %s", self.name,
                 ", ".join(f"{t}-{p}" for t, p in sorted(gone)) or "(none)")

    # -- polling -----------------------------------------------------------------------------------
    def process(self) -> Status:
        with self._lock:
            consumer = self._consumer
            if consumer is None:
                return Status.BACKOFF
            return self._process(consumer)

    def _collect(self, consumer: Any) -> list[Any]:
        c = self.counters.values
        started = time.monotonic()
        duration = self.settings["batchDurationMillis"] / 1000.0
        self._revoked.clear()
        msgs: list[Any] = []
        error_of = self._ck.Message.error
        deadline = started + duration
        while len(msgs) < self.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            got = consumer.consume(self.batch_size - len(msgs), left)
            if not any(map(error_of, got)):  # the usual case: records only (a C-level check)
                if msgs:
                    msgs += got
                else:
                    msgs = got  # the usual case again: one call fills the batch (no copy of 1000 references)
            else:
                for m in got:
                    err = m.error()
                    if err is None:
                        msgs.append(m)
                    elif err.code() != -191:  # not just _PARTITION_EOF
                        c["EventReadFail"] += 1
                        log.warning("kafka source %s: %s", self.name, describe_error(err))
            if not msgs:
                break  # nothing within one batch duration: let the runner back off
        c["KafkaEventGetTimer"] += int((time.monotonic() - started) * 1000)
        if self._revoked:  # a rebalance took partitions away while collecting: their new owner reads them
            msgs = [m for m in msgs if (m.topic(), m.partition()) not in self._revoked]
        return msgs

    def _to_event(self, m: Any, make: Callable[[Any], dict[str, str]]) -> Event:
        """A record with Flume's event format and/or ``header.*`` mappings: its own headers first, then
        Flume's (``make``) where missing; the key header always."""
        if self.settings["useFlumeEventFormat"]:
            try:
                ev = avro.decode(m.value() or b"")
            except ValueError as e:
                raise _BadRecord(f"{m.topic()}-{m.partition()}@{m.offset()}: {e}") from None
            headers = ev.headers
            body = ev.body
        else:
            headers = {}
            body = m.value() or b""
        flume = make(m)
        key = flume.pop("key", None)
        for k, v in flume.items():
            headers.setdefault(k, v)
        if key is not None:
            headers["key"] = key
        if self.header_map:
            for hk, hv in m.headers() or ():
                target = self.header_map.get(hk)
                if target is not None and hv is not None:
                    headers[target] = hv.decode("utf-8", "replace")
        return Event(body, headers)

    def _convert(self, msgs: list[Any]) -> tuple[Sequence[Event], dict[tuple[str, int], int]]:
        """Events for ``msgs`` plus the last offset of every partition in the batch (``_first`` gives
        the first ones, needed only to read a batch again).

        The last record of each partition comes from a C-level loop over the batch (a dict built from
        map over Message.partition); only those few are asked for their offset.  Plain records (the
        hot path) become one EventBatch of the bodies and the records: an event object, made only if
        a sink asks for one, is a LazyEvent that makes Flume's headers from its record only when
        something reads them.  A sink that writes bodies only never pays for either.
        """
        ck_msg = self._ck.Message
        if not msgs:
            return [], {}
        parts = map(ck_msg.partition, msgs)
        topic = self.topics[0] if self.pattern is None and len(self.topics) == 1 else None
        if topic is not None:  # one topic subscribed (the usual case): partitions are the keys
            last = {(topic, p): m.offset() for p, m in dict(zip(parts, msgs)).items()}
        else:
            last = {k: m.offset() for k, m in dict(zip(zip(map(ck_msg.topic, msgs), parts), msgs)).items()}
        now = str(int(time.time() * 1000))  # for records without a usable timestamp
        make = partial(_record_headers, now, self._topic_header)
        if self.settings["useFlumeEventFormat"] or self.header_map:
            try:
                return [self._to_event(m, make) for m in msgs], last
            except _BadRecord as e:
                raise _BadBatch(str(e)) from None
        bodies = list(map(ck_msg.value, msgs))
        if not all(bodies):  # a record without a value (None) gets an empty body
            bodies = [b or b"" for b in bodies]
        self._home.keep(bodies, msgs)  # freed on this thread once the sinks are done with them
        make.column = partial(_record_column, now, self._topic_header)  # type: ignore[attr-defined]
        return EventBatch(bodies, make, msgs), last

    def _first(self, msgs: list[Any]) -> dict[tuple[str, int], int]:
        """The first offset of every partition in ``msgs``."""
        ck_msg = self._ck.Message
        keys = list(zip(map(ck_msg.topic, msgs), map(ck_msg.partition, msgs)))
        return dict(zip(reversed(keys), reversed(list(map(ck_msg.offset, msgs)))))

    def _process(self, consumer: Any) -> Status:
        c = self.counters.values
        if self._failed:
            self._retry_failed_commits(consumer)
        self._home.release()
        msgs = self._collect(consumer)
        if not msgs:
            c["KafkaEmptyCount"] += 1
            if self._unsent:  # idle: commit what was delivered
                self._send_commits(consumer)
            return Status.BACKOFF
        try:
            events, last = self._convert(msgs)
        except _BadBatch as e:
            c["EventReadFail"] += 1
            self._seek(consumer, self._first(msgs))
            raise FlumeError(f"kafka source {self.name}: record is not a Flume Avro event "
                             f"(useFlumeEventFormat = true): {e.detail}") from None
        n = len(events)
        c["EventReceivedCount"] += n
        c["AppendBatchReceivedCount"] += 1
        try:
            self.channel_processor.process_batch(events)
        except ChannelError as e:
            c["ChannelWriteFail"] += 1
            log.warning("kafka source %s: channel put of %d events failed, reading them again: %s",
                        self.name, n, e)
            self._seek(consumer, self._first(msgs))
            return Status.BACKOFF
        c["EventAcceptedCount"] += n
        c["AppendBatchAcceptedCount"] += 1
        self._commit(consumer, last)
        return Status.READY

    def _seek(self, consumer: Any, first: dict[tuple[str, int], int]) -> None:
        ck = import_confluent()
        for (topic, part), off in first.items():
            if (topic, part) not in self._assigned:
                continue  # no longer ours: the new owner starts from the committed offset
            try:
                consumer.seek(ck.TopicPartition(topic, part, off))
            except ck.KafkaException as e:
                log.warning("kafka source %s: seek %s-%d to %d failed: %s", self.name, topic, part, off, e)

    def _commit(self, consumer: Any, last: dict[tuple[str, int], int]) -> None:
        """The channel transaction has committed: note the offsets after ``last`` and commit them
        asynchronously, at most every ``commitIntervalMillis`` (one commit request a batch loaded the
        broker: kafka -> null ran ~15% faster with commits every 200 ms)."""
        for tp, o in last.items():
            self._issued[tp] = self._unsent[tp] = o + 1
        if time.monotonic() >= self._next_commit:
            self._send_commits(consumer)

    def _send_commits(self, consumer: Any) -> None:
        ck = self._ck
        started = time.monotonic()
        offsets, self._unsent = self._unsent, {}
        self._next_commit = started + self.settings["commitIntervalMillis"] / 1000.0
        if not offsets:
            return
        try:
            consumer.commit(offsets=[ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=True)
        except ck.KafkaException as e:  # not even queued: issue again on the next poll
            log.warning("kafka source %s: offset commit failed, will retry: %s", self.name, describe_error(e.args[0]))
            self._failed.update(offsets)
        self.counters.values["KafkaCommitTimer"] += int((time.monotonic() - started) * 1000)

    def _on_commit(self, err: Any, partitions: list[Any]) -> None:
        """librdkafka's commit result (served inside consume()): failed offsets are issued again."""
        failed = [p for p in partitions if err is not None or p.error is not None]
        if not failed:
            return
        again = {}
        for p in failed:
            tp = (p.topic, p.partition)
            if self._issued.get(tp) == p.offset:  # not superseded by a later commit
                again[tp] = p.offset
        if again:
            self._failed.update(again)
            why = describe_error(err if err is not None else failed[0].error)
            log.warning("kafka source %s: offset commit of %s failed, will retry: %s", self.name,
                        ", ".join(f"{t}-{p}@{o}" for (t, p), o in sorted(again.items())), why)

    def _retry_failed_commits(self, consumer: Any) -> None:
        again = {tp: o for tp, o in self._failed.items() if self._issued.get(tp) == o}
        self._failed.clear()
        if again:
            self._unsent.update(again)
            self._send_commits(consumer)

    def _commit_sync(self, consumer: Any, offsets: dict[tuple[str, int], int], why: str) -> bool:
        """Commit ``offsets`` (next offsets) synchronously: before partitions go away or the consumer closes."""
        if not offsets:
            return True
        ck = self._ck
        tps = [ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        for attempt in range(1, COMMIT_RETRIES + 1):
            try:
                consumer.commit(offsets=tps, asynchronous=False)
                for tp in offsets:
                    self._failed.pop(tp, None)
                return True
            except ck.KafkaException as e:
                err = e.args[0] if e.args else e
                retriable = getattr(err, "retriable", lambda: False)()
                if attempt == COMMIT_RETRIES or not retriable:
                    # Delivered but not committed: the records are read again later (duplicates, no loss).
                    log.warning("kafka source %s: offset commit (%s) failed, records may be delivered again: %s",
                                self.name, why, describe_error(err))
                    return False
                time.sleep(0.1 * attempt)
        return False


def _record_headers(now: str, topic_header: str | None, m: Any) -> dict[str, str]:
    """Flume's KafkaSource headers of a plain record (``now``: the batch's read time, for records
    without a usable timestamp)."""
    tt, ts = m.timestamp()
    h = {"timestamp": str(ts) if tt and ts >= 0 else now}
    if topic_header is not None:
        h[topic_header] = m.topic()
    h["partition"] = str(m.partition())
    h["offset"] = str(m.offset())
    key = m.key()
    if key is not None:
        h["key"] = key.decode("utf-8", "replace")
    return h


def _record_column(now: str, topic_header: str | None, name: str, msgs: Sequence[Any]) -> list[str | None] | None:
    """One header of many plain records at once, as ``_record_headers`` makes it; None for a header
    this cannot give (the batch then makes its events).  These are the ones sinks read for every
    event: the timestamp (SequenceFile keys, time escapes), the topic and partition (path escapes)."""
    # the precedence of _record_headers: key, offset, partition, then the topic header, then timestamp
    if name == "partition":
        return list(map(str, map(_PARTITION, msgs)))
    if name in ("key", "offset"):
        return None
    if name == topic_header:
        return list(map(_TOPIC, msgs))
    if name != "timestamp":
        return None
    pairs = list(map(_TIMESTAMP, msgs))  # (type, ms)
    stamps = list(map(_SECOND, pairs))
    if all(map(_FIRST, pairs)) and (not stamps or min(stamps) >= 0):  # the usual case: C-level maps
        text = {t: str(t) for t in set(stamps)}  # a batch holds few distinct milliseconds
        return list(map(text.__getitem__, stamps))
    return [str(ts) if tt and ts >= 0 else now for tt, ts in pairs]


_TIMESTAMP = methodcaller("timestamp")
_TOPIC = methodcaller("topic")
_PARTITION = methodcaller("partition")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)


class _BadRecord(Exception):
    pass


class _BadBatch(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
