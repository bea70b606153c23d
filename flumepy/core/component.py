"""The component contracts: as small as Flume's (configure, start, stop, plus one or two methods).

Every component declares the keys it reads in ``PROPS`` (name, type, default, doc); validation,
``flumepy describe`` and the docs are generated from that one declaration.  ``__init__`` and
``configure`` do no I/O; ``start`` opens sockets, files and threads; ``stop`` is idempotent.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, ClassVar

from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError
from flumepy.core.event import Event
from flumepy.core.metrics import Counters
from flumepy.core.transaction import Transaction

if TYPE_CHECKING:
    from flumepy.core.processor import ChannelProcessor

log = logging.getLogger(__name__)


class Status(enum.Enum):
    READY = "READY"
    BACKOFF = "BACKOFF"


class Component:
    """Base of all components: a name, declared settings, counters and a lifecycle."""

    KIND: ClassVar[str] = ""
    METRICS_TYPE: ClassVar[str] = ""
    PROPS: ClassVar[tuple[Prop, ...]] = ()

    def __init__(self, name: str) -> None:
        self.name = name
        self.counters = Counters(self.METRICS_TYPE or self.KIND.upper(), name)
        self.settings: dict[str, Any] = {}
        self.lifecycle = "IDLE"

    def configure(self, ctx: Context) -> None:
        """Read settings; raise ConfigError naming the key on any bad value. No I/O here."""
        self.settings = ctx.parse(self.PROPS)

    def start(self) -> None:
        self.lifecycle = "START"
        self.counters.started()

    def stop(self) -> None:
        self.lifecycle = "STOP"
        self.counters.stopped()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Channel(Component):
    """A buffer between sources and sinks; every access goes through a transaction."""

    KIND = "channel"
    capacity: int = 0
    transaction_capacity: int = 0
    #: True when one thread may hold two open take transactions at once, committed or rolled back
    #: in either order (a sink then encodes its next batch while the last one is still being written).
    overlapping_takes: bool = False

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._put_watchers: list[Callable[[], None]] = []

    def watch_puts(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every commit that added events (a sink runner uses it to end an
        idle backoff at once instead of sleeping up to its maximum)."""
        self._put_watchers.append(callback)

    def unwatch_puts(self, callback: Callable[[], None]) -> None:
        if callback in self._put_watchers:
            self._put_watchers.remove(callback)

    def puts_committed(self) -> None:
        """Channels call this after a commit added events."""
        for cb in self._put_watchers:
            cb()

    def transaction(self) -> Transaction:
        raise NotImplementedError

    def size(self) -> int:
        """Events currently in the channel (committed puts not yet taken)."""
        raise NotImplementedError

    # -- helpers for transactions (not part of the contract) -----------------------------------
    def count_put_attempt(self, already: int, n: int) -> None:
        """Count a put of ``n`` events; ChannelError if it would take the transaction past
        transactionCapacity (``already`` events are in it)."""
        self.counters.values["EventPutAttemptCount"] += n
        if already + n > self.transaction_capacity:
            raise ChannelError(
                f"put of {n} events exceeds transactionCapacity {self.transaction_capacity} of channel "
                f"{self.name} ({already} already in this transaction): commit more often or raise "
                "transactionCapacity")

    def count_take_attempt(self, already: int) -> int:
        """Count a take; the events it may return, ChannelError when the transaction is full."""
        room = self.transaction_capacity - already
        if room <= 0:
            raise ChannelError(
                f"take exceeds transactionCapacity {self.transaction_capacity} of channel {self.name}: "
                "commit more often or raise transactionCapacity")
        self.counters.values["EventTakeAttemptCount"] += 1
        return room


class Source(Component):
    """Produces events and hands them to its ChannelProcessor (set by the agent before start)."""

    KIND = "source"
    channel_processor: ChannelProcessor
    batch_size: int = 0  # checked against channel transactionCapacity when > 0


class EventDrivenSource(Source):
    """A source that runs its own threads or servers between start() and stop()."""


POLL_PROPS = (
    Prop("backoffSleepIncrement", "int", 1000, "Milliseconds added to the sleep after each empty poll.", min=1),
    Prop("maxBackoffSleep", "int", 5000, "Longest sleep in milliseconds between empty polls.", min=1),
)


class PollableSource(Source):
    """A source driven by the agent's runner thread calling process() (Flume's PollableSource)."""

    def process(self) -> Status:
        raise NotImplementedError


class Sink(Component):
    """Takes events from its channel (set by the agent) and delivers them somewhere."""

    KIND = "sink"
    channel: Channel
    batch_size: int = 0

    def process(self) -> Status:
        raise NotImplementedError

    def settle(self) -> None:
        """Commit or roll back a batch still in flight.  The sink runner calls it on its own thread
        (transactions belong to their thread) before it exits; only sinks whose process() can return
        with a batch in flight need it."""

    def drain(self, batch_size: int, write: Any) -> Status:
        """Take up to batch_size events in one transaction and call ``write(events)``.

        Commits after write returns, rolls back if it raises; keeps Flume's sink counters.
        Returns BACKOFF when the channel had nothing.
        """
        c = self.counters.values
        with self.channel.transaction() as tx:
            events = tx.take_batch(batch_size)
            n = len(events)
            if n == 0:
                c["BatchEmptyCount"] += 1
                return Status.BACKOFF
            c["EventDrainAttemptCount"] += n
            try:
                write(events)
            except BaseException:
                c["EventWriteFail"] += 1
                raise
        c["EventDrainSuccessCount"] += n
        if n < batch_size:
            c["BatchUnderflowCount"] += 1
        else:
            c["BatchCompleteCount"] += 1
        return Status.READY


class Interceptor(Component):
    """Changes or drops events before the selector sees them."""

    KIND = "interceptor"

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        raise NotImplementedError


class ChannelSelector(Component):
    """Decides which channels receive which events of a batch."""

    KIND = "selector"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.channels: list[Channel] = []

    def set_channels(self, channels: Sequence[Channel]) -> None:
        self.channels = list(channels)

    def route(self, events: Sequence[Event]) -> list[tuple[Channel, Sequence[Event], bool]]:
        """(channel, events for it, required?) for every channel that gets something."""
        raise NotImplementedError


class SinkProcessor(Component):
    """Drives one or more sinks (Flume's sink groups): default, failover, load_balance."""

    KIND = "sinkprocessor"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.sinks: list[Sink] = []

    def set_sinks(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    def process(self) -> Status:
        raise NotImplementedError

    def start(self) -> None:
        for s in self.sinks:
            s.start()
        super().start()

    def stop(self) -> None:
        for s in self.sinks:
            try:
                s.stop()
            except Exception:
                log.exception("sink %s failed to stop cleanly", s.name)
        super().stop()


class SerializerWriter:
    """Writes events to one open stream for an EventSerializer."""

    def write_batch(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Push buffered bytes to the stream (not the stream's own flush)."""

    def close(self) -> None:
        """Write any trailer; does not close the stream."""
        self.flush()


class EventSerializer(Component):
    """Turns events into bytes on a stream (file_roll, HDFS DataStream). Configure once, open per file."""

    KIND = "serializer"

    def open(self, stream: IO[bytes], reopen: bool = False) -> SerializerWriter:
        raise NotImplementedError

    def supports_reopen(self) -> bool:
        return True
