"""``ChannelContract``: the behaviour every flumepy channel must have, as a pytest suite to inherit.

Subclass it in a test module (the subclass name must start with ``Test``) and implement
``make_channel``::

    from flumepy.core.context import Context
    from flumepy.testing import ChannelContract
    from my_plugin.channel import MyChannel

    class TestMyChannel(ChannelContract):
        def make_channel(self, workdir, capacity, transaction_capacity):
            ch = MyChannel("c1")
            ch.configure(Context({"capacity": str(capacity),
                                  "transactionCapacity": str(transaction_capacity),
                                  "keep-alive": "0",           # keep the "channel full" tests fast
                                  "dataDir": str(workdir)}))
            return ch

The suite starts the channel, runs one check per test and stops it afterwards.  To leave out a
check your channel cannot support (an unbounded channel has no capacity to enforce), set that test
to ``None`` in the subclass and say why in a comment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flumepy.core.component import Channel
from flumepy.core.errors import ChannelError, ChannelFullError, TransactionStateError
from flumepy.core.event import Event

ChannelFactory = Callable[..., Channel]


def make_events(n: int, prefix: str = "event", start: int = 0) -> list[Event]:
    """``n`` distinct events with bodies ``prefix-<i>`` and a header ``seq=<i>``."""
    return [Event(f"{prefix}-{i}".encode(), {"seq": str(i)}) for i in range(start, start + n)]


def put_all(channel: Channel, events: list[Event]) -> None:
    """Put and commit ``events`` in one transaction."""
    with channel.transaction() as tx:
        tx.put_batch(events)


def take_all(channel: Channel, batch: int | None = None) -> list[Event]:
    """Take and commit every event in the channel, one transaction per ``batch`` events."""
    batch = batch or channel.transaction_capacity or 100
    out: list[Event] = []
    while True:
        with channel.transaction() as tx:
            got = tx.take_batch(batch)
        if not got:
            return out
        out.extend(got)


class ChannelContract:
    """Checks put/take, rollback, transaction and channel capacities, transaction states, threads."""

    #: Events used by the capacity tests; override make_channel's arguments if your channel needs more.
    CAPACITY = 10
    TRANSACTION_CAPACITY = 5

    # -- to implement ----------------------------------------------------------------------------
    def make_channel(self, workdir: Path, capacity: int, transaction_capacity: int) -> Channel:
        """A configured, not yet started channel with these capacities and a short keep-alive.

        ``workdir`` is a fresh empty directory for channels that keep files.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement make_channel()")

    # -- fixtures --------------------------------------------------------------------------------
    @pytest.fixture
    def channel_factory(self, tmp_path: Path) -> Iterator[ChannelFactory]:
        """Builds and starts channels (``capacity=``, ``transaction_capacity=``); stops them after."""
        made: list[Channel] = []

        def factory(capacity: int = self.CAPACITY, transaction_capacity: int = self.TRANSACTION_CAPACITY) -> Channel:
            workdir = tmp_path / f"channel{len(made)}"
            workdir.mkdir()
            ch = self.make_channel(workdir, capacity, transaction_capacity)
            ch.start()
            made.append(ch)
            return ch

        yield factory
        for ch in reversed(made):
            ch.stop()

    @pytest.fixture
    def channel(self, channel_factory: ChannelFactory) -> Channel:
        return channel_factory()

    # -- put and take ----------------------------------------------------------------------------
    def test_put_then_take_returns_same_events_in_order(self, channel: Channel) -> None:
        events = make_events(self.TRANSACTION_CAPACITY)
        put_all(channel, events)
        assert channel.size() == len(events)
        with channel.transaction() as tx:
            got = tx.take_batch(len(events))
        assert [(e.body, e.headers) for e in got] == [(e.body, e.headers) for e in events]
        assert channel.size() == 0

    def test_take_from_empty_channel_returns_nothing(self, channel: Channel) -> None:
        with channel.transaction() as tx:
            assert tx.take_batch(self.TRANSACTION_CAPACITY) == []
            assert tx.take() is None

    def test_single_event_put_and_take(self, channel: Channel) -> None:
        with channel.transaction() as tx:
            tx.put(Event(b"one", {"h": "v"}))
        with channel.transaction() as tx:
            got = tx.take()
        assert got == Event(b"one", {"h": "v"})

    def test_events_from_several_transactions_keep_their_order(self, channel: Channel) -> None:
        first, second = make_events(3), make_events(3, start=3)
        put_all(channel, first)
        put_all(channel, second)
        assert [e.body for e in take_all(channel)] == [e.body for e in first + second]

    # -- rollback --------------------------------------------------------------------------------
    def test_rollback_of_put_leaves_nothing(self, channel: Channel) -> None:
        tx = channel.transaction()
        tx.begin()
        tx.put_batch(make_events(3))
        tx.rollback()
        tx.close()
        assert channel.size() == 0
        assert take_all(channel) == []

    def test_rollback_of_take_returns_events_to_the_head_in_order(self, channel: Channel) -> None:
        events = make_events(5)
        put_all(channel, events)
        tx = channel.transaction()
        tx.begin()
        taken = tx.take_batch(3)
        assert [e.body for e in taken] == [e.body for e in events[:3]]
        tx.rollback()
        tx.close()
        assert channel.size() == 5
        assert [e.body for e in take_all(channel)] == [e.body for e in events]

    def test_rollback_of_take_goes_before_events_put_meanwhile(self, channel: Channel) -> None:
        put_all(channel, make_events(2))
        tx = channel.transaction()
        tx.begin()
        tx.take_batch(2)
        put_all(channel, make_events(2, start=2))
        tx.rollback()
        tx.close()
        assert [e.body for e in take_all(channel)] == [e.body for e in make_events(4)]

    # -- transaction capacity ----------------------------------------------------------------------
    def test_put_over_transaction_capacity_raises(self, channel: Channel) -> None:
        cap = self.TRANSACTION_CAPACITY
        with pytest.raises(ChannelError):
            with channel.transaction() as tx:
                tx.put_batch(make_events(cap + 1))
        assert channel.size() == 0
        with pytest.raises(ChannelError):
            with channel.transaction() as tx:
                tx.put_batch(make_events(cap))
                tx.put(Event(b"one too many"))
        assert channel.size() == 0

    def test_take_over_transaction_capacity_raises(self, channel: Channel) -> None:
        cap = self.TRANSACTION_CAPACITY
        put_all(channel, make_events(cap))
        put_all(channel, make_events(cap, start=cap))
        with pytest.raises(ChannelError):
            with channel.transaction() as tx:
                got = tx.take_batch(cap)
                assert len(got) == cap
                tx.take()
        # The failed transaction rolled back: everything is still there, in order.
        assert [e.body for e in take_all(channel)] == [e.body for e in make_events(2 * cap)]

    def test_take_batch_never_exceeds_transaction_capacity(self, channel: Channel) -> None:
        cap = self.TRANSACTION_CAPACITY
        put_all(channel, make_events(cap))
        put_all(channel, make_events(cap, start=cap))
        with channel.transaction() as tx:
            try:
                got = tx.take_batch(2 * cap)
            except ChannelError:
                got = []
            assert len(got) <= cap
        assert channel.size() == 2 * cap - len(got)

    # -- channel capacity ----------------------------------------------------------------------------
    def test_put_into_full_channel_fails_with_channel_full(self, channel_factory: ChannelFactory) -> None:
        ch = channel_factory(capacity=4, transaction_capacity=4)
        put_all(ch, make_events(4))
        with pytest.raises(ChannelFullError):
            with ch.transaction() as tx:
                tx.put(Event(b"no room"))
        assert issubclass(ChannelFullError, ChannelError)
        assert ch.size() == 4
        assert [e.body for e in take_all(ch)] == [e.body for e in make_events(4)]

    def test_explicit_commit_into_full_channel_leaves_transaction_open_for_rollback(
        self, channel_factory: ChannelFactory
    ) -> None:
        ch = channel_factory(capacity=2, transaction_capacity=2)
        put_all(ch, make_events(2))
        tx = ch.transaction()
        tx.begin()
        tx.put(Event(b"no room"))
        with pytest.raises(ChannelFullError):
            tx.commit()
        tx.rollback()
        tx.close()
        assert ch.size() == 2

    def test_events_taken_but_not_committed_still_use_capacity(self, channel_factory: ChannelFactory) -> None:
        ch = channel_factory(capacity=4, transaction_capacity=4)
        put_all(ch, make_events(4))
        tx = ch.transaction()
        tx.begin()
        assert len(tx.take_batch(4)) == 4
        # The take may still roll back, so there is no room for a put in the meantime.
        with pytest.raises(ChannelFullError):
            put_all(ch, [Event(b"no room yet")])
        tx.rollback()
        tx.close()
        assert ch.size() == 4
        # Once the take commits, the room is free.
        with ch.transaction() as t2:
            t2.take_batch(4)
        put_all(ch, make_events(4, start=4))
        assert ch.size() == 4

    def test_room_freed_by_a_committed_take_is_usable(self, channel_factory: ChannelFactory) -> None:
        ch = channel_factory(capacity=4, transaction_capacity=4)
        put_all(ch, make_events(4))
        with ch.transaction() as tx:
            tx.take_batch(2)
        put_all(ch, make_events(2, start=4))
        assert [e.body for e in take_all(ch)] == [e.body for e in make_events(4, start=2)]

    # -- transaction state rules -------------------------------------------------------------------
    def test_put_before_begin_raises(self, channel: Channel) -> None:
        tx = channel.transaction()
        with pytest.raises(TransactionStateError):
            tx.put(Event(b"x"))
        with pytest.raises(TransactionStateError):
            tx.take_batch(1)
        with pytest.raises(TransactionStateError):
            tx.commit()
        tx.close()
        assert channel.size() == 0

    def test_begin_twice_raises(self, channel: Channel) -> None:
        tx = channel.transaction()
        tx.begin()
        with pytest.raises(TransactionStateError):
            tx.begin()
        tx.rollback()
        tx.close()

    def test_commit_twice_raises(self, channel: Channel) -> None:
        tx = channel.transaction()
        tx.begin()
        tx.put(Event(b"x"))
        tx.commit()
        with pytest.raises(TransactionStateError):
            tx.commit()
        with pytest.raises(TransactionStateError):
            tx.rollback()
        with pytest.raises(TransactionStateError):
            tx.put(Event(b"y"))
        tx.close()
        assert [e.body for e in take_all(channel)] == [b"x"]

    def test_close_while_open_raises(self, channel: Channel) -> None:
        tx = channel.transaction()
        tx.begin()
        tx.put(Event(b"x"))
        with pytest.raises(TransactionStateError):
            tx.close()
        tx.rollback()
        tx.close()
        tx.close()  # closing twice is harmless
        assert channel.size() == 0

    def test_use_from_another_thread_raises(self, channel: Channel) -> None:
        tx = channel.transaction()
        tx.begin()
        errors: list[BaseException] = []

        def other() -> None:
            for call in (lambda: tx.put(Event(b"x")), lambda: tx.take_batch(1), tx.commit, tx.rollback):
                try:
                    call()
                except BaseException as e:  # noqa: BLE001 - collected and checked below
                    errors.append(e)

        t = threading.Thread(target=other)
        t.start()
        t.join(10)
        assert len(errors) == 4
        assert all(isinstance(e, TransactionStateError) for e in errors), errors
        tx.rollback()
        tx.close()
        assert channel.size() == 0

    # -- the with form ---------------------------------------------------------------------------------
    def test_with_commits_on_success(self, channel: Channel) -> None:
        with channel.transaction() as tx:
            tx.put_batch(make_events(2))
        assert channel.size() == 2
        with channel.transaction() as tx:
            tx.take_batch(2)
        assert channel.size() == 0
        assert take_all(channel) == []

    def test_with_rolls_back_on_exception(self, channel: Channel) -> None:
        with pytest.raises(RuntimeError, match="boom"):
            with channel.transaction() as tx:
                tx.put_batch(make_events(2))
                raise RuntimeError("boom")
        assert channel.size() == 0
        put_all(channel, make_events(2))
        with pytest.raises(RuntimeError, match="boom"):
            with channel.transaction() as tx:
                assert len(tx.take_batch(2)) == 2
                raise RuntimeError("boom")
        assert [e.body for e in take_all(channel)] == [e.body for e in make_events(2)]

    # -- concurrency -----------------------------------------------------------------------------------
    def test_concurrent_producers_and_consumers_lose_and_duplicate_nothing(
        self, channel_factory: ChannelFactory
    ) -> None:
        ch = channel_factory(capacity=20, transaction_capacity=5)
        producers, consumers, per_producer, batch = 4, 3, 200, 5
        total = producers * per_producer
        received: list[bytes] = []
        lock = threading.Lock()
        done = threading.Event()
        failures: list[BaseException] = []

        def produce(p: int) -> None:
            try:
                events = make_events(per_producer, prefix=f"p{p}")
                for i in range(0, per_producer, batch):
                    while True:
                        try:
                            put_all(ch, events[i:i + batch])
                            break
                        except ChannelFullError:
                            time.sleep(0.001)  # a source backs off and retries the same batch
            except BaseException as e:  # noqa: BLE001
                failures.append(e)

        def consume(c: int) -> None:
            try:
                n = 0
                while not done.is_set():
                    with ch.transaction() as tx:
                        got = tx.take_batch(batch)
                        # Every third non-empty batch fails once and is taken again later.
                        n += 1 if got else 0
                        if got and n % 3 == 0:
                            tx.rollback()
                            continue
                    with lock:
                        received.extend(e.body for e in got)
                        if len(received) >= total:
                            done.set()
            except BaseException as e:  # noqa: BLE001
                failures.append(e)
                done.set()

        threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        threads += [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
        for t in threads:
            t.start()
        finished = done.wait(120)
        done.set()
        for t in threads:
            t.join(30)
        assert not failures, failures
        assert finished, f"only {len(received)} of {total} events arrived"
        expected = sorted(e.body for p in range(producers) for e in make_events(per_producer, prefix=f"p{p}"))
        assert sorted(received) == expected
        assert ch.size() == 0
