"""Small components for tests: a recording sink, a failing one, a slow one and a list source.

They are real components (PROPS, configure, start/stop), so a test config can use them by class
path, e.g. ``a1.sinks.k1.type = flumepy.testing:RecordingSink``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import ClassVar

from flumepy.core.component import EventDrivenSource, Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError, EventDeliveryError
from flumepy.core.event import Event

log = logging.getLogger(__name__)


class RecordingSink(Sink):
    """Keeps every delivered event in ``self.events`` (thread-safe to read through ``snapshot()``)."""

    PROPS: ClassVar[tuple[Prop, ...]] = (Prop("batchSize", "int", 100, "Events per transaction.", min=1),)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self.batch_size = 100

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.batch_size = self.settings["batchSize"]

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)

    def bodies(self) -> list[bytes]:
        return [e.body for e in self.snapshot()]

    def _write(self, events: list[Event]) -> None:
        with self._lock:
            self.events.extend(events)

    def process(self) -> Status:
        return self.drain(self.batch_size, self._write)


class FailingSink(RecordingSink):
    """Fails the first ``failures`` batches with EventDeliveryError (rolled back), then records."""

    PROPS = RecordingSink.PROPS + (
        Prop("failures", "int", 1, "How many batches fail before deliveries succeed.", min=0),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.failures_left = 1
        self.failed_batches = 0

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.failures_left = self.settings["failures"]

    def _write(self, events: list[Event]) -> None:
        with self._lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                self.failed_batches += 1
                raise EventDeliveryError(f"{self.name}: simulated failure delivering {len(events)} events "
                                         f"({self.failures_left} more to come)")
        super()._write(events)


class SlowSink(RecordingSink):
    """Waits ``delayMs`` before recording each batch (backpressure); stop() cuts the wait short."""

    PROPS = RecordingSink.PROPS + (Prop("delayMs", "int", 100, "Milliseconds spent on each batch.", min=0),)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.delay = 0.1
        self._stopping = threading.Event()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.delay = self.settings["delayMs"] / 1000.0

    def start(self) -> None:
        self._stopping.clear()
        super().start()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def _write(self, events: list[Event]) -> None:
        self._stopping.wait(self.delay)
        super()._write(events)


class ListSource(EventDrivenSource):
    """Pushes a fixed list of events into its channels from a thread, then goes idle.

    From a config: ``bodies = a b c`` (whitespace-separated) or ``count = 100`` with
    ``prefix = event-`` (bodies ``event-0`` .. ``event-99``).  From code, ``ListSource.of(events)``
    makes a subclass that sends exactly those events (headers included); register it under an alias
    or pass the class to ``Registry.register``.  A failed put (channel full) is retried, never dropped.
    """

    PROPS = (
        Prop("bodies", "list", None, "Event bodies, separated by whitespace."),
        Prop("count", "int", 0, "Generate this many events named prefix<N> (when bodies is not set).", min=0),
        Prop("prefix", "string", "event-", "Body prefix for generated events."),
        Prop("batchSize", "int", 100, "Events per channel transaction.", min=1),
        Prop("retryMs", "int", 50, "Milliseconds to wait before retrying a batch the channel refused.", min=1),
    )
    EVENTS: ClassVar[Sequence[Event] | None] = None

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.events: list[Event] = [Event(e.body, dict(e.headers)) for e in self.EVENTS or ()]
        self.batch_size = 100
        self.sent = 0
        self.done = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, events: Sequence[Event]) -> type[ListSource]:
        return type("ListSourceOf", (cls,), {"EVENTS": tuple(events)})

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self.batch_size = s["batchSize"]
        if self.EVENTS is None:
            if s["bodies"] is not None:
                self.events = [Event(b.encode()) for b in s["bodies"]]
            else:
                self.events = [Event(f"{s['prefix']}{i}".encode()) for i in range(s["count"])]

    def start(self) -> None:
        super().start()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"ListSource-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        c = self.counters.values
        retry = self.settings.get("retryMs", 50) / 1000.0
        while self.sent < len(self.events) and not self._stopping.is_set():
            batch = self.events[self.sent:self.sent + self.batch_size]
            c["EventReceivedCount"] += len(batch)
            c["AppendBatchReceivedCount"] += 1
            try:
                self.channel_processor.process_batch(batch)
            except ChannelError as e:
                c["ChannelWriteFail"] += 1
                log.debug("list source %s: batch refused (%s), retrying", self.name, e)
                self._stopping.wait(retry)
                continue
            self.sent += len(batch)
            c["EventAcceptedCount"] += len(batch)
            c["AppendBatchAcceptedCount"] += 1
        if self.sent >= len(self.events):
            self.done.set()

    def wait_done(self, timeout: float = 10.0) -> bool:
        """True once every event was accepted by the channels."""
        return self.done.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        super().stop()
