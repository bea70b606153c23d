"""Type ``memory``: Flume's MemoryChannel — a bounded in-memory queue with transactions.

Puts are buffered in the transaction and appended to the queue at commit, waiting up to
``keep-alive`` seconds for room; if there is still none the commit fails with ChannelFullError and
the source retries (nothing is dropped silently).  Takes remove events at once; a rollback puts them
back at the head, in order.  Byte accounting follows Flume: body bytes in 100-byte slots.

A put of an :class:`~flumepy.core.event.EventBatch` is queued as it is, and a take that wants all of
it gets it whole, so no event object is made on the way (a take of part of one gets a slice of it, a
take across several gets them joined into one).
"""

from __future__ import annotations

import operator
import threading
import time
from collections import deque
from collections.abc import Sequence
from itertools import repeat

from flumepy.core.component import Channel
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelFullError
from flumepy.core.event import Event, EventBatch, bodies_of
from flumepy.core.transaction import Transaction

SLOT = 100



_round_up = (SLOT - 1).__add__


def _slots(events: Sequence[Event]) -> int:
    """Byte slots of a batch as Flume counts them: ceil(body bytes / 100) per event
    (C-level loops only: this runs on every commit)."""
    return sum(map(operator.floordiv, map(_round_up, map(len, bodies_of(events))), repeat(SLOT)))


class MemoryChannel(Channel):
    """In-memory channel (Flume's ``memory``): fast, lost when the process dies."""

    PROPS = (
        Prop("capacity", "int", 100, "Maximum number of events stored in the channel.", min=1),
        Prop("transactionCapacity", "int", 100, "Maximum events per put or take transaction.", min=1),
        Prop("keep-alive", "int", 3, "Seconds a commit waits for room in a full channel.", min=0),
        Prop("byteCapacity", "int", None, "Limit on the sum of event body bytes (default: none; Flume: 80% of "
             "the JVM heap).", min=0),
        Prop("byteCapacityBufferPercentage", "int", 20, "Percent of byteCapacity kept for headers.",
             min=0, max=100),
    )

    overlapping_takes = True  # transactions are independent; a rollback puts events back at the head
    TAKE_LINGER = 0.25  # seconds a take on an empty channel waits for events

    def __init__(self, name: str) -> None:
        super().__init__(name)
        # Committed puts as whole lists or EventBatches (one append per commit, no per-event work);
        # takes slice them.
        self._chunks: deque[Sequence[Event]] = deque()
        self._head = 0  # events of _chunks[0] already taken
        self._count = 0  # events queued
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._not_empty = threading.Condition(self._lock)
        self._slots_used = 0
        self._in_flight = 0  # taken but not yet committed: they keep their room (Flume's queueRemaining)
        self.capacity = 100
        self.transaction_capacity = 100
        self.keep_alive = 3.0
        self.slot_limit = 0
        g = self.counters.gauges
        g["ChannelSize"] = self.size
        g["ChannelCapacity"] = lambda: self.capacity
        g["ChannelFillPercentage"] = lambda: self.size() * 100.0 / self.capacity if self.capacity else 0.0

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if s["transactionCapacity"] > s["capacity"]:
            if "transactionCapacity" not in ctx:  # point at the line that made it wrong
                raise ctx.error(
                    "capacity",
                    f"{s['capacity']} is smaller than transactionCapacity (default {s['transactionCapacity']}); "
                    "set transactionCapacity too: a transaction can never be bigger than the channel",
                )
            raise ctx.error(
                "transactionCapacity",
                f"{s['transactionCapacity']} is larger than capacity ({s['capacity']}); "
                "a transaction can never be bigger than the channel",
            )
        byte_cap = s["byteCapacity"] or 0
        with self._lock:
            self.capacity = s["capacity"]
            self.transaction_capacity = s["transactionCapacity"]
            self.keep_alive = float(s["keep-alive"])
            pct = s["byteCapacityBufferPercentage"]
            # Unset or 0: no byte limit, only the event count (Python has no heap cap for Flume's
            # 80%-of-heap default to protect; skipping the accounting keeps commits cheap).
            self.slot_limit = int(byte_cap * (1 - pct / 100) / SLOT) if byte_cap else 0
            self._not_full.notify_all()

    def size(self) -> int:
        return self._count

    def transaction(self) -> Transaction:
        return _MemoryTransaction(self)

    # -- used by transactions, under no lock held by the caller -----------------------------------
    def _commit_puts(self, events: Sequence[Event]) -> None:
        n = len(events)
        slots = _slots(events) if self.slot_limit else 0
        deadline = time.monotonic() + self.keep_alive
        with self._not_full:
            while self._count + self._in_flight + n > self.capacity or (
                self.slot_limit and self._slots_used + slots > self.slot_limit
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if self._count + self._in_flight + n > self.capacity:
                        held = f", {self._in_flight} more taken but not committed" if self._in_flight else ""
                        raise ChannelFullError(
                            f"channel {self.name} is full ({self._count} of {self.capacity} events{held}; "
                            f"a put of {n} did not fit within keep-alive {self.keep_alive:g}s): "
                            "sinks are not keeping up, or raise capacity"
                        )
                    raise ChannelFullError(
                        f"channel {self.name} is over its byteCapacity; sinks are not keeping up, "
                        "or raise byteCapacity"
                    )
                self._not_full.wait(remaining)
            self._chunks.append(events)  # the transaction hands its list (or batch) over
            self._count += n
            self._slots_used += slots
            self._not_empty.notify_all()
            if self._count + self._in_flight < self.capacity:
                self._not_full.notify()  # room left: pass the wake-up on to the next waiting put

    def _take(self, n: int) -> Sequence[Event]:
        with self._not_empty:
            if not self._count:
                self._not_empty.wait(self.TAKE_LINGER)
                if not self._count:
                    return []
            chunks = self._chunks
            want = min(n, self._count)
            chunk, head = chunks[0], self._head
            if len(chunk) - head >= want:  # the usual case: all from the first chunk
                if not head and len(chunk) == want:
                    chunks.popleft()
                    out = chunk  # the whole chunk: hand the list (or batch) itself over
                else:
                    out = chunk[head:head + want]
                    if head + want == len(chunk):
                        chunks.popleft()
                        self._head = 0
                    else:
                        self._head = head + want
            else:
                parts: list[Sequence[Event]] = []
                left = want
                while left:
                    chunk, head = chunks[0], self._head
                    avail = len(chunk) - head
                    if avail <= left:
                        chunks.popleft()
                        self._head = 0
                        parts.append(chunk[head:] if head else chunk)
                        left -= avail
                    else:
                        parts.append(chunk[head:head + left])
                        self._head = head + left
                        left = 0
                # batches whose events were not made yet join into one; a list among them makes a list
                joined = EventBatch.join(parts)
                if joined is None:
                    got: list[Event] = []
                    for part in parts:
                        got.extend(part)
                    out = got
                else:
                    out = joined
            self._count -= want
            self._in_flight += want
            return out

    def _release(self, events: Sequence[Event]) -> None:
        """Taken events were committed: free their room."""
        with self._not_full:
            self._in_flight -= len(events)
            if self.slot_limit:
                self._slots_used -= _slots(events)
            # One waiting put at a time (FIFO): one that fits passes the wake-up on while room is left,
            # instead of every waiting source thread waking to fight for the lock and the GIL.
            self._not_full.notify()

    def _return(self, events: Sequence[Event]) -> None:
        """Taken events were rolled back: put them back at the head in their order."""
        with self._lock:
            self._in_flight -= len(events)
            if self._head:  # drop the taken part of the first chunk before putting these in front
                self._chunks[0] = self._chunks[0][self._head:]
                self._head = 0
            self._chunks.appendleft(list(events))
            self._count += len(events)
            self._not_empty.notify_all()


class _MemoryTransaction(Transaction):
    __slots__ = ("ch", "puts", "takes")

    def __init__(self, ch: MemoryChannel) -> None:
        super().__init__()
        self.ch = ch
        self.puts: Sequence[Event] = []  # a list of its own, or a batch put as it is
        self.takes: Sequence[Event] = []

    def _do_put_batch(self, events: Sequence[Event]) -> None:
        self.ch.count_put_attempt(len(self.puts), len(events))
        puts = self.puts
        if not puts and type(events) is EventBatch:
            self.puts = events  # batches never change: queue this one as it is
        elif type(puts) is list:
            puts.extend(events)
        else:
            self.puts = [*puts, *events]

    def _do_take_batch(self, max_events: int) -> Sequence[Event]:
        ch = self.ch
        room = ch.count_take_attempt(len(self.takes))
        got = ch._take(min(max_events, room))
        self.takes = got if not self.takes else [*self.takes, *got]
        return got

    def _do_commit(self) -> None:
        ch = self.ch
        if self.puts:
            ch._commit_puts(self.puts)
            ch.counters.values["EventPutSuccessCount"] += len(self.puts)
            self.puts = []
            ch.puts_committed()
        if self.takes:
            ch._release(self.takes)
            ch.counters.values["EventTakeSuccessCount"] += len(self.takes)
            self.takes = []

    def _do_rollback(self) -> None:
        if self.takes:
            self.ch._return(self.takes)
            self.takes = []
        self.puts = []
