"""Type ``kafka``: Flume's KafkaSink — publishes each event as one Kafka record.

A batch of up to ``flumeBatchSize`` events is taken in one channel transaction, produced, and the
transaction commits only after the broker acknowledged every record (flush + delivery reports); any
failed record rolls the whole batch back so it is sent again (at least once).

Record value = event body (or the whole event in Flume's Avro format with ``useFlumeEventFormat``),
key = header ``key``, topic = header ``topic`` when ``allowTopicOverride`` (``%{header}`` escapes
allowed) else ``kafka.topic``, partition = header ``partitionIdHeader`` or ``defaultPartitionId``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import EventDeliveryError, FlumeError
from flumepy.core.event import Event
from flumepy.kafka.client import (
    callbacks,
    describe_error,
    import_confluent,
    passthrough,
    producer_record,
    release,
)

log = logging.getLogger(__name__)

_ESCAPE = re.compile(r"%\{([^}]*)\}")
FLUSH_SLICE = 0.5  # seconds per flush wait, so stop() is noticed


class KafkaSink(Sink):
    """Produces channel events to Kafka; the take commits after every record is acknowledged."""

    TYPE_NAME = "kafka"
    PROPS = (
        Prop("kafka.bootstrap.servers", "string", None, "Kafka brokers, host:port,..."),
        Prop("kafka.topic", "string", "default-flume-topic", "Topic to publish to."),
        Prop("flumeBatchSize", "int", 100, "Events per channel transaction.", min=1),
        Prop("kafka.producer.acks", "string", "1", "Acknowledgements the broker must give: 0, 1 or all "
             "(all + enable.idempotence=true for no loss).", choices=("0", "1", "all", "-1")),
        Prop("useFlumeEventFormat", "bool", False, "Write records as Flume Avro events (headers kept)."),
        Prop("defaultPartitionId", "int", None, "Send every event to this partition.", min=0),
        Prop("partitionIdHeader", "string", None, "Header holding the partition to send an event to."),
        Prop("allowTopicOverride", "bool", True, "An event's topic header chooses its topic."),
        Prop("topicHeader", "string", "topic", "Header holding the topic (may contain %{header} escapes)."),
        Prop("timestampHeader", "string", None, "Header holding the record timestamp (ms)."),
        Prop("header.", prefix=True, doc="header.<flumeHeader> = <kafkaHeader>: copy a header to the record."),
        Prop("kafka.producer.", prefix=True, doc="Passed to the producer (librdkafka names)."),
        # Flume <= 1.6
        Prop("brokerList", "string", None, "Legacy broker list.", deprecated="kafka.bootstrap.servers"),
        Prop("topic", "string", None, "Legacy topic.", deprecated="kafka.topic"),
        Prop("batchSize", "int", None, "Legacy batch size.", min=1, deprecated="flumeBatchSize"),
        Prop("requiredAcks", "string", None, "Legacy acks.", choices=("0", "1", "all", "-1"),
             deprecated="kafka.producer.acks"),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.counters.values["KafkaEventSendTimer"] = 0
        self.counters.values["RollbackCount"] = 0
        self.config: dict[str, str] = {}
        self.header_map: dict[str, str] = {}
        self._producer: Any = None
        self._stopping = threading.Event()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["kafka.bootstrap.servers"]:
            raise ctx.error("kafka.bootstrap.servers", "is required: the Kafka brokers, host:port,...")
        self.batch_size = s["flumeBatchSize"]
        self.header_map = dict(s["header."].items())
        self.config = passthrough(ctx, "kafka.producer.")
        self.config["acks"] = s["kafka.producer.acks"]
        # Java's default partitioner hashes keys with murmur2: keep keyed records on the same partitions.
        self.config.setdefault("partitioner", "murmur2_random")
        self.config["bootstrap.servers"] = s["kafka.bootstrap.servers"]

    def start(self) -> None:
        ck = import_confluent()
        self._stopping.clear()
        try:
            self._producer = ck.Producer({**self.config, **callbacks(f"kafka sink {self.name}")})
        except ck.KafkaException as e:
            raise FlumeError(f"kafka sink {self.name}: bad producer settings: {e}") from None
        log.info("kafka sink %s: producing to %s at %s", self.name, self.settings["kafka.topic"],
                 self.config["bootstrap.servers"])
        super().start()

    def stop(self) -> None:
        self._stopping.set()
        producer, self._producer = self._producer, None
        if producer is not None:
            left = producer.flush(5)
            if left:
                log.warning("kafka sink %s: %d records not acknowledged at stop (their batch was rolled back)",
                            self.name, left)
            held = [producer]
            del producer
            release(f"kafka sink {self.name}", held)
        super().stop()


    def process(self) -> Status:
        try:
            return self.drain(self.batch_size, self._send)
        except EventDeliveryError:
            self.counters.values["RollbackCount"] += 1
            raise

    # -- one batch ---------------------------------------------------------------------------------
    def _topic(self, headers: dict[str, str]) -> str:
        s = self.settings
        if s["allowTopicOverride"]:
            t = headers.get(s["topicHeader"])
            if t:
                return _ESCAPE.sub(lambda m: headers.get(m.group(1), ""), t) if "%{" in t else t
        return s["kafka.topic"]  # type: ignore[no-any-return]

    def _record(self, ev: Event) -> dict[str, Any]:
        s = self.settings
        h = ev.headers
        try:
            rec = producer_record(ev, s["useFlumeEventFormat"], s["partitionIdHeader"], s["defaultPartitionId"])
        except ValueError as e:
            raise EventDeliveryError(f"kafka sink {self.name}: {e}") from None
        if s["timestampHeader"]:
            raw = h.get(s["timestampHeader"])
            if raw:
                try:
                    rec["timestamp"] = int(raw)
                except ValueError:
                    log.debug("kafka sink %s: ignoring non-numeric timestamp header %r", self.name, raw)
        if self.header_map:
            kh = [(kname, h[fname].encode("utf-8")) for fname, kname in self.header_map.items() if fname in h]
            if kh:
                rec["headers"] = kh
        return rec

    def _send(self, events: list[Event]) -> None:
        ck = import_confluent()
        producer = self._producer
        if producer is None:
            raise EventDeliveryError(f"kafka sink {self.name} is not started")
        started = time.monotonic()
        failures: list[str] = []

        def report(err: Any, msg: Any) -> None:
            if err is not None:
                failures.append(f"{msg.topic()}: {describe_error(err)}")

        for ev in events:
            rec = self._record(ev)
            topic = self._topic(ev.headers)
            while True:
                try:
                    producer.produce(topic, on_delivery=report, **rec)
                    break
                except BufferError:
                    producer.poll(0.05)  # local queue full: serve delivery reports and retry
                except ck.KafkaException as e:
                    raise EventDeliveryError(f"kafka sink {self.name}: cannot send to {topic}: {e}") from None
        while producer.flush(FLUSH_SLICE) > 0:
            if self._stopping.is_set():
                raise EventDeliveryError(f"kafka sink {self.name}: stopping before the broker acknowledged the "
                                         "batch; rolled back")
        self.counters.values["KafkaEventSendTimer"] += int((time.monotonic() - started) * 1000)
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise EventDeliveryError(f"kafka sink {self.name}: {len(failures)} of {len(events)} records not "
                                     f"acknowledged, batch rolled back: {failures[0]}{more}")
