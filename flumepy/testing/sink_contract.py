"""``SinkContract``: the behaviour every flumepy sink must have, as a pytest suite to inherit.

Subclass it in a test module (name starting with ``Test``) and implement ``make_sink`` and, when the
sink's output can be read back, ``delivered``::

    class TestJsonlSink(SinkContract):
        def make_sink(self, workdir, batch_size):
            sink = JsonlSink("k1")
            sink.configure(Context({"path": str(workdir / "out.jsonl"), "batchSize": str(batch_size)}))
            return sink

        def delivered(self, sink, workdir):          # bodies, in delivery order
            return [json.loads(l)["body"].encode() for l in (workdir / "out.jsonl").open()]

        def break_delivery(self, sink, workdir):     # make the next writes fail
            (workdir / "out.jsonl").unlink(); (workdir / "out.jsonl").mkdir()

        def repair_delivery(self, sink, workdir):
            (workdir / "out.jsonl").rmdir()

The suite connects the sink to a memory channel, starts it, drives ``process()`` by hand (no
runner threads) and stops it.  ``delivered`` is called after ``sink.stop()``, so buffered output
has been flushed.  A sink with no way to fail (like ``null``) sets
``test_failed_delivery_keeps_events_in_channel = None`` in its subclass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Sink, Status
from flumepy.core.context import Context
from flumepy.core.event import Event
from flumepy.core.transaction import Transaction
from flumepy.testing.channel_contract import make_events, put_all


@dataclass
class SinkRig:
    """A started sink connected to a started memory channel, plus its scratch directory."""

    sink: Sink
    channel: MemoryChannel
    workdir: Path

    def put(self, n: int, start: int = 0) -> list[bytes]:
        """Commit ``n`` events to the channel (in transactions it can hold); returns their bodies."""
        events = make_events(n, start=start)
        step = self.channel.transaction_capacity
        for i in range(0, n, step):
            put_all(self.channel, events[i:i + step])
        return [e.body for e in events]

    def record_takes(self) -> list[int]:
        """From now on, the number of events each transaction of the channel takes, in order."""
        sizes: list[int] = []
        make = self.channel.transaction

        def transaction() -> Transaction:
            sizes.append(0)
            return _CountingTransaction(make(), sizes, len(sizes) - 1)  # type: ignore[return-value]

        self.channel.transaction = transaction  # type: ignore[method-assign]
        return sizes

    def run_until_backoff(self, max_calls: int = 1000) -> int:
        """Call process() until it reports BACKOFF; returns how many calls said READY."""
        for ready in range(max_calls):
            if self.sink.process() is Status.BACKOFF:
                return ready
        raise AssertionError(f"sink {self.sink.name} never returned BACKOFF in {max_calls} calls")


class _CountingTransaction:
    """A channel transaction that adds the events it takes to ``sizes[index]``."""

    def __init__(self, tx: Transaction, sizes: list[int], index: int) -> None:
        self._tx, self._sizes, self._index = tx, sizes, index

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def take_batch(self, max_events: int) -> Sequence[Event]:
        got = self._tx.take_batch(max_events)
        self._sizes[self._index] += len(got)
        return got

    def take(self) -> Event | None:
        e = self._tx.take()
        self._sizes[self._index] += e is not None
        return e

    def __enter__(self) -> _CountingTransaction:
        self._tx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._tx.__exit__(*exc)


class SinkContract:
    """Checks delivery, batching, BACKOFF on empty, rollback on failure and an idempotent stop."""

    BATCH_SIZE = 4

    # -- to implement ------------------------------------------------------------------------------
    def make_sink(self, workdir: Path, batch_size: int) -> Sink:
        """A configured, not yet started sink taking ``batch_size`` events per transaction.

        ``workdir`` is a fresh empty directory for its output.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement make_sink()")

    def delivered(self, sink: Sink, workdir: Path) -> list[bytes] | None:
        """The bodies the (stopped) sink delivered, in order; None if it keeps nothing readable.

        With None only the sink's counters (EventDrainSuccessCount) are checked.
        """
        return None

    def break_delivery(self, sink: Sink, workdir: Path) -> None:
        """Make the sink's next deliveries fail (remove its directory, stop its server, ...)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement break_delivery(), or set "
            "test_failed_delivery_keeps_events_in_channel = None if the sink cannot fail"
        )

    def repair_delivery(self, sink: Sink, workdir: Path) -> None:
        """Undo break_delivery so later deliveries succeed."""

    # -- fixtures --------------------------------------------------------------------------------
    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[SinkRig]:
        workdir = tmp_path / "sink"
        workdir.mkdir()
        channel = MemoryChannel("contract-channel")
        cap = max(100, self.BATCH_SIZE)
        channel.configure(Context({"capacity": str(cap * 10), "transactionCapacity": str(cap),
                                   "keep-alive": "0"}))
        sink = self.make_sink(workdir, self.BATCH_SIZE)
        sink.channel = channel
        channel.start()
        sink.start()
        try:
            yield SinkRig(sink, channel, workdir)
        finally:
            sink.stop()
            channel.stop()

    # -- checks --------------------------------------------------------------------------------
    def test_delivers_every_event_in_order(self, rig: SinkRig) -> None:
        n = 2 * self.BATCH_SIZE + 1
        bodies = rig.put(n)
        rig.run_until_backoff()
        assert rig.channel.size() == 0
        assert rig.sink.counters.get("EventDrainSuccessCount") == n
        rig.sink.stop()
        got = self.delivered(rig.sink, rig.workdir)
        if got is not None:
            assert got == bodies

    def test_each_transaction_takes_at_most_batch_size_events(self, rig: SinkRig) -> None:
        """A transaction takes at most the batch size, and a full batch when the channel holds more.
        One process() call may take and commit several transactions (the hdfs sink does on local files
        when the channel holds a backlog); it commits what it took before it returns."""
        n = 2 * self.BATCH_SIZE + 1
        rig.put(n)
        sizes = rig.record_takes()
        assert rig.sink.process() is Status.READY
        assert sizes and sizes[0] == self.BATCH_SIZE, f"events taken per transaction: {sizes}"
        assert all(0 <= s <= self.BATCH_SIZE for s in sizes), f"events taken per transaction: {sizes}"
        assert rig.channel.size() == n - sum(sizes)
        assert rig.sink.counters.get("EventDrainSuccessCount") == sum(sizes)

    def test_process_returns_backoff_on_empty_channel(self, rig: SinkRig) -> None:
        assert rig.sink.process() is Status.BACKOFF
        assert rig.sink.counters.get("EventDrainSuccessCount") == 0
        rig.sink.stop()
        got = self.delivered(rig.sink, rig.workdir)
        if got is not None:
            assert got == []

    def test_failed_delivery_keeps_events_in_channel(self, rig: SinkRig) -> None:
        bodies = rig.put(self.BATCH_SIZE)
        self.break_delivery(rig.sink, rig.workdir)
        try:
            status = rig.sink.process()
        except Exception:  # noqa: BLE001 - a failing sink raises (Flume's EventDeliveryException)...
            status = None
        assert status is not Status.READY, "process() reported READY although delivery failed"
        # ... and its transaction rolled back: nothing was lost.
        assert rig.channel.size() == self.BATCH_SIZE
        assert rig.sink.counters.get("EventDrainSuccessCount") == 0
        self.repair_delivery(rig.sink, rig.workdir)
        rig.run_until_backoff()
        assert rig.channel.size() == 0
        assert rig.sink.counters.get("EventDrainSuccessCount") == self.BATCH_SIZE
        rig.sink.stop()
        got = self.delivered(rig.sink, rig.workdir)
        if got is not None:
            # At least once: a partly written batch may appear twice, but the batch ends complete.
            assert got[-len(bodies):] == bodies
            assert set(got) == set(bodies)

    def test_stop_is_idempotent(self, rig: SinkRig) -> None:
        bodies = rig.put(2)
        rig.run_until_backoff()
        rig.sink.stop()
        rig.sink.stop()
        assert rig.channel.size() == 0
        got = self.delivered(rig.sink, rig.workdir)
        if got is not None:
            assert got == bodies
