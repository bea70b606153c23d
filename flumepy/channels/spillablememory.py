"""Type ``SPILLABLEMEMORY``: Flume's SpillableMemoryChannel — memory first, spilling to a file channel.

Events live in an in-memory queue of ``memoryCapacity`` events.  When it is full, a put waits up to
``overflowTimeout`` seconds for room and then spills to an embedded durable file channel (configured
with the file channel's keys, capacity ``overflowCapacity``); while spilled events remain, further
puts go to the overflow too (as Flume does).  A *drain order* of runs (memory n, overflow m, ...)
makes takes return events in the order their puts committed, across both stores.  Events in memory
are lost when the process dies (as in Flume); spilled events survive restarts and come first.
``memoryCapacity = 0`` makes it a pure file channel, ``overflowCapacity = 0`` a memory channel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from operator import attrgetter

from flumepy.channels.file.channel import FileChannel
from flumepy.core.component import Channel
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelFullError
from flumepy.core.event import Event
from flumepy.core.transaction import Transaction

log = logging.getLogger(__name__)

MEM, OVF = 0, 1
_body = attrgetter("body")
_OWN = (
    Prop("memoryCapacity", "int", 10000, "Events kept in memory; 0 = a pure file channel.", min=0),
    Prop("overflowCapacity", "int", 100000000, "Events in the overflow file channel; 0 = memory only.", min=0),
    Prop("overflowTimeout", "int", 3, "Seconds a put waits for memory room before spilling.", min=0),
    Prop("transactionCapacity", "int", 10000, "Maximum events per put or take transaction.", min=1),
    Prop("byteCapacity", "int", None, "Limit on the body bytes in memory (default: none).", min=0),
    Prop("byteCapacityBufferPercentage", "int", 20, "Percent of byteCapacity kept for headers.", min=0, max=100),
    Prop("avgEventSize", "int", 500, "Estimated bytes per event (Flume's byte accounting).", min=1,
         ignored="memory bytes are counted from the real bodies"),
    Prop("overflowDeactivationThreshold", "int", 5, "Percent of free memory before overflow is deactivated.",
         ignored="overflow stays active until every spilled event is taken"),
    Prop("capacity", "int", None, "Set internally (memoryCapacity + overflowCapacity).",
         ignored="the capacity is memoryCapacity + overflowCapacity"),
)
_FILE_PROPS = tuple(p for p in FileChannel.PROPS if p.key not in {"capacity", "transactionCapacity"})


class SpillableMemoryChannel(Channel):
    """In-memory channel that spills to a durable file channel when memory is full."""

    TYPE_NAME = "SPILLABLEMEMORY"
    TAKE_LINGER = 0.25
    PROPS = _OWN + _FILE_PROPS

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.overflow = FileChannel(f"{name}-overflow")
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._mem_room = threading.Condition(self._lock)
        self._mem: deque[Event] = deque()
        self._mem_inflight = 0
        self._mem_bytes = 0
        self._order: deque[list[int]] = deque()  # runs [store, count], head first
        self._ovf_active = False
        self.memory_capacity = 10000
        self.overflow_capacity = 100000000
        self.overflow_timeout = 3.0
        self.byte_limit = 0
        self.capacity = self.memory_capacity + self.overflow_capacity
        self.transaction_capacity = 10000
        g = self.counters.gauges
        g["ChannelSize"] = self.size
        g["ChannelCapacity"] = lambda: self.capacity
        g["ChannelFillPercentage"] = lambda: self.size() * 100.0 / self.capacity if self.capacity else 0.0
        g["MemoryChannelSize"] = lambda: len(self._mem)
        g["OverflowChannelSize"] = lambda: self.overflow.size()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if s["memoryCapacity"] == 0 and s["overflowCapacity"] == 0:
            raise ctx.error("memoryCapacity", "and overflowCapacity are both 0: the channel could hold nothing")
        file_keys = {p.key for p in _FILE_PROPS}
        values = {k: v for k, v in ctx.as_dict().items()
                  if k in file_keys or k.startswith("encryption.")}
        values["capacity"] = str(max(s["overflowCapacity"], 1))
        values["transactionCapacity"] = str(min(s["transactionCapacity"], max(s["overflowCapacity"], 1)))
        sub = Context(values, {k: ctx.line(k) for k in values}, ctx.prefix, ctx.file)
        self.overflow.configure(sub)
        byte_cap = s["byteCapacity"] or 0
        with self._lock:
            self.memory_capacity = s["memoryCapacity"]
            self.overflow_capacity = s["overflowCapacity"]
            self.overflow_timeout = float(s["overflowTimeout"])
            self.byte_limit = int(byte_cap * (1 - s["byteCapacityBufferPercentage"] / 100)) if byte_cap else 0
            self.capacity = self.memory_capacity + self.overflow_capacity
            self.transaction_capacity = s["transactionCapacity"]
            self._mem_room.notify_all()

    def start(self) -> None:
        if self.overflow_capacity > 0:
            self.overflow.start()
            n = self.overflow.size()
            with self._lock:
                self._order.clear()
                if n:
                    self._order.append([OVF, n])
                    self._ovf_active = True
                    log.info("spillable channel %s: %d spilled events from the overflow come first", self.name, n)
        super().start()

    def stop(self) -> None:
        if self.overflow_capacity > 0:
            self.overflow.stop()
        super().stop()

    def size(self) -> int:
        return len(self._mem) + (self.overflow.size() if self.overflow_capacity > 0 else 0)

    def transaction(self) -> Transaction:
        return _SpillTx(self)

    # -- internals, called by transactions --------------------------------------------------------
    def _mem_fits(self, n: int, nbytes: int) -> bool:
        if len(self._mem) + self._mem_inflight + n > self.memory_capacity:
            return False
        return not self.byte_limit or self._mem_bytes + nbytes <= self.byte_limit

    def _add_run(self, store: int, n: int, head: bool = False) -> None:
        order = self._order
        if head:
            if order and order[0][0] == store:
                order[0][1] += n
            else:
                order.appendleft([store, n])
        elif order and order[-1][0] == store:
            order[-1][1] += n
        else:
            order.append([store, n])

    def _commit_puts_to_memory(self, events: list[Event], wait: float) -> bool:
        n = len(events)
        nbytes = sum(map(len, map(_body, events))) if self.byte_limit else 0
        if n > self.memory_capacity:
            return False
        deadline = time.monotonic() + wait
        with self._mem_room:
            while self._ovf_active or not self._mem_fits(n, nbytes):
                remaining = deadline - time.monotonic()
                if self._ovf_active or remaining <= 0:
                    return False
                self._mem_room.wait(remaining)
            self._mem.extend(events)
            self._mem_bytes += nbytes
            self._add_run(MEM, n)
            self._not_empty.notify_all()
            return True


class _SpillTx(Transaction):
    __slots__ = ("ch", "puts", "taken", "otx")

    def __init__(self, ch: SpillableMemoryChannel) -> None:
        super().__init__()
        self.ch = ch
        self.puts: list[Event] = []
        self.taken: list[tuple[int, list[Event]]] = []  # (store, events) in take order
        self.otx: Transaction | None = None

    def _overflow_tx(self) -> Transaction:
        if self.otx is None:
            self.otx = self.ch.overflow.transaction()
            self.otx.begin()
        return self.otx

    def _do_put_batch(self, events: Sequence[Event]) -> None:
        self.ch.count_put_attempt(len(self.puts), len(events))
        self.puts.extend(events)

    def _do_take_batch(self, max_events: int) -> list[Event]:
        ch = self.ch
        room = ch.count_take_attempt(sum(len(e) for _, e in self.taken))
        with ch._not_empty:
            if not ch._order:
                ch._not_empty.wait(ch.TAKE_LINGER)
                if not ch._order:
                    return []
            run = ch._order[0]
            store, k = run[0], min(max_events, room, run[1])
            if store == MEM:
                got = [ch._mem.popleft() for _ in range(k)]
                ch._mem_inflight += k
            run[1] -= k
            if run[1] == 0:
                ch._order.popleft()
        if store == OVF:
            got = list(self._overflow_tx().take_batch(k))  # a file channel take: a list already
            if len(got) < k:  # cannot happen unless the overflow was changed behind our back
                with ch._lock:
                    ch._add_run(OVF, k - len(got), head=True)
        self.taken.append((store, got))
        return got

    def _do_commit(self) -> None:
        ch = self.ch
        puts = self.puts
        spilled = False
        if puts:
            wait = ch.overflow_timeout if ch.overflow_capacity > 0 else 0.0
            if ch.memory_capacity == 0 or not ch._commit_puts_to_memory(puts, 0.0 if ch._ovf_active else wait):
                if ch.overflow_capacity == 0:
                    if not ch._commit_puts_to_memory(puts, ch.overflow_timeout):
                        raise ChannelFullError(f"channel {ch.name} is full ({len(ch._mem)} of "
                                               f"{ch.memory_capacity} events in memory, overflow disabled)")
                else:
                    self._overflow_tx().put_batch(puts)
                    spilled = True
        if self.otx is not None:
            self.otx.commit()
            self.otx.close()
            self.otx = None
        mem_taken = sum(len(e) for s, e in self.taken if s == MEM)
        with ch._lock:
            if spilled:
                if not ch._ovf_active:
                    log.info("spillable channel %s: memory full, spilling to the overflow file channel", ch.name)
                ch._ovf_active = True
                ch._add_run(OVF, len(puts))
                ch._not_empty.notify_all()
            if mem_taken:
                ch._mem_inflight -= mem_taken
                if ch.byte_limit:
                    ch._mem_bytes -= sum(len(ev.body) for s, e in self.taken if s == MEM for ev in e)
            if ch._ovf_active and not any(r[0] == OVF for r in ch._order):
                ch._ovf_active = False
            ch._mem_room.notify_all()
        v = ch.counters.values
        v["EventPutSuccessCount"] += len(puts)
        v["EventTakeSuccessCount"] += sum(len(e) for _, e in self.taken)
        self.puts, self.taken = [], []
        if puts:
            ch.puts_committed()

    def _do_rollback(self) -> None:
        ch = self.ch
        if self.otx is not None:
            self.otx.rollback()
            self.otx.close()
            self.otx = None
        with ch._lock:
            for store, events in reversed(self.taken):
                if not events:
                    continue
                if store == MEM:
                    ch._mem.extendleft(reversed(events))
                    ch._mem_inflight -= len(events)
                ch._add_run(store, len(events), head=True)
            if self.taken:
                ch._not_empty.notify_all()
        self.puts, self.taken = [], []
