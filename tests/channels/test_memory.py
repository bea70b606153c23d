"""The memory channel: capacities, keep-alive, byte slots, rollback order, reconfigure, concurrency, counters."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context
from flumepy.core.errors import ChannelError, ChannelFullError, ConfigError
from flumepy.core.event import Event, EventBatch
from tests.util import wait_until


def memory(**settings: object) -> MemoryChannel:
    ch = MemoryChannel("c1")
    ch.configure(Context({k.replace("_", "-"): str(v) for k, v in settings.items()}, prefix="a1.channels.c1."))
    return ch


def put(ch: MemoryChannel, *bodies: bytes) -> None:
    with ch.transaction() as tx:
        tx.put_batch([Event(b) for b in bodies])


def take(ch: MemoryChannel, n: int = 1000) -> list[bytes]:
    with ch.transaction() as tx:
        return [e.body for e in tx.take_batch(n)]


def test_defaults_follow_flume() -> None:
    ch = memory()
    assert (ch.capacity, ch.transaction_capacity, ch.keep_alive) == (100, 100, 3.0)


def test_capacity_full_raises_channel_full_after_keep_alive() -> None:
    ch = memory(capacity=3, transactionCapacity=3, keep_alive=0)
    put(ch, b"1", b"2")
    with pytest.raises(ChannelFullError) as e:
        put(ch, b"3", b"4")
    assert "c1 is full" in str(e.value) and "2 of 3" in str(e.value)
    assert isinstance(e.value, ChannelError)
    put(ch, b"3")  # exactly fits
    assert ch.size() == 3
    assert take(ch) == [b"1", b"2", b"3"]


def test_keep_alive_waits_for_a_taker_to_make_room() -> None:
    ch = memory(capacity=2, transactionCapacity=2, keep_alive=5)
    put(ch, b"a", b"b")
    taken: list[bytes] = []
    started = threading.Event()

    def taker() -> None:
        started.set()
        taken.extend(take(ch, 1))

    t = threading.Thread(target=taker)
    t.start()
    started.wait()
    put(ch, b"c")  # blocks until the taker commits, well within keep-alive
    t.join()
    assert taken == [b"a"]
    assert take(ch) == [b"b", b"c"]


def test_room_made_by_one_take_lets_every_waiting_put_that_fits_in() -> None:
    """A take commit wakes one waiting put; each put that fits passes the wake-up on while room is
    left, so both waiting puts get in long before keep-alive (an unchained wake-up would leave the
    second waiting until keep-alive ran out: ChannelFullError)."""
    ch = memory(capacity=6, transactionCapacity=6, keep_alive=60)
    put(ch, *[b"x"] * 6)
    errors: list[BaseException] = []

    def producer(body: bytes) -> None:
        try:
            put(ch, body, body)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=producer, args=(b,)) for b in (b"p", b"q")]
    for t in threads:
        t.start()
    wait_until(lambda: len(ch._not_full._waiters) == 2, what="both puts waiting for room")  # type: ignore[attr-defined]
    assert len(take(ch, 6)) == 6  # room for both
    for t in threads:
        t.join(30)
    assert not errors and not any(t.is_alive() for t in threads)
    assert sorted(take(ch)) == [b"p", b"p", b"q", b"q"]


def test_transaction_capacity_limits_puts_and_takes() -> None:
    ch = memory(capacity=10, transactionCapacity=3)
    with pytest.raises(ChannelError, match="exceeds transactionCapacity 3"):
        put(ch, b"1", b"2", b"3", b"4")
    assert ch.size() == 0
    put(ch, b"1", b"2", b"3")
    put(ch, b"4", b"5", b"6")
    with ch.transaction() as tx:
        assert len(tx.take_batch(10)) == 3  # a take is capped at transactionCapacity
        with pytest.raises(ChannelError, match="take exceeds transactionCapacity 3"):
            tx.take_batch(1)
    assert ch.size() == 3


def test_transaction_capacity_larger_than_capacity_is_rejected() -> None:
    with pytest.raises(ConfigError, match="a1.channels.c1.transactionCapacity: 200 is larger than capacity"):
        memory(capacity=100, transactionCapacity=200)


def test_byte_capacity_counts_body_bytes_in_100_byte_slots() -> None:
    # byteCapacity 1000 with 0% buffer = 10 slots of 100 bytes; headers do not count.
    ch = memory(capacity=100, byteCapacity=1000, byteCapacityBufferPercentage=0, keep_alive=0)
    assert ch.slot_limit == 10
    big_headers = {"h" * 50: "v" * 500}
    with ch.transaction() as tx:
        tx.put_batch([Event(b"x" * 100, dict(big_headers)) for _ in range(10)])  # 1 slot each
    with pytest.raises(ChannelFullError, match="byteCapacity"):
        put(ch, b"y")
    assert take(ch, 1) == [b"x" * 100]
    put(ch, b"y")  # one slot was freed
    with pytest.raises(ChannelFullError):
        put(ch, b"z")
    take(ch)
    put(ch, b"z" * 101, b"z" * 201, b"z" * 300, b"")  # 2 + 3 + 3 + 0 slots
    with pytest.raises(ChannelFullError):
        put(ch, b"w" * 101, b"w")  # 2 + 1 = 3 > 2 left
    put(ch, b"w" * 150)  # 2 fit exactly
    assert ch.size() == 5


def test_byte_capacity_buffer_percentage() -> None:
    ch = memory(byteCapacity=10_000, byteCapacityBufferPercentage=20)
    assert ch.slot_limit == 80
    assert memory(byteCapacity=0).slot_limit == 0  # no byte limit


def test_rolled_back_takes_go_back_to_the_head_in_order() -> None:
    ch = memory(capacity=10, transactionCapacity=10)
    put(ch, *[str(i).encode() for i in range(6)])
    with pytest.raises(RuntimeError):
        with ch.transaction() as tx:
            assert [e.body for e in tx.take_batch(2)] == [b"0", b"1"]
            assert [e.body for e in tx.take_batch(2)] == [b"2", b"3"]
            raise RuntimeError("sink failed")
    put(ch, b"6")
    assert take(ch) == [b"0", b"1", b"2", b"3", b"4", b"5", b"6"]



def test_takes_across_and_inside_committed_batches_keep_fifo_order_with_rollbacks() -> None:
    """Puts are queued batch by batch; takes of any size (partial batches, several batches at once)
    and rollbacks in between must still see one FIFO sequence."""
    ch = memory(capacity=100, transactionCapacity=100)
    put(ch, b"0", b"1", b"2")
    put(ch, b"3")
    put(ch, b"4", b"5", b"6", b"7")
    assert take(ch, 2) == [b"0", b"1"]
    with pytest.raises(RuntimeError):
        with ch.transaction() as tx:
            assert [e.body for e in tx.take_batch(3)] == [b"2", b"3", b"4"]
            raise RuntimeError("sink failed")
    assert ch.size() == 6
    assert take(ch, 1) == [b"2"]
    with pytest.raises(RuntimeError):
        with ch.transaction() as tx:
            assert [e.body for e in tx.take_batch(2)] == [b"3", b"4"]
            raise RuntimeError("sink failed")
    put(ch, b"8")
    assert take(ch, 4) == [b"3", b"4", b"5", b"6"]
    assert ch.size() == 2
    assert take(ch) == [b"7", b"8"]
    assert ch.size() == 0

def test_a_batch_put_whole_is_taken_whole_without_making_events() -> None:
    ch = memory(capacity=100, transactionCapacity=100, byteCapacity=1000, byteCapacityBufferPercentage=0)
    batch = EventBatch([b"a" * 150, b"b", b"c"])
    with ch.transaction() as tx:
        tx.put_batch(batch)
    assert ch._slots_used == 4  # counted from the bodies: 2 + 1 + 1 slots
    with ch.transaction() as tx:
        taken = tx.take_batch(3)
        assert taken is batch and batch.plain  # handed over as it is: no event object was made
    assert ch.size() == 0 and ch._slots_used == 0


def test_a_take_across_batches_is_one_batch_until_a_list_is_in_it() -> None:
    ch = memory(capacity=100, transactionCapacity=100)
    template = {"host": "h"}
    for bodies in ([b"a", b"b"], [b"c"], [b"d", b"e"]):
        with ch.transaction() as tx:
            tx.put_batch(EventBatch(bodies, dict.copy, [template] * len(bodies)))
    with ch.transaction() as tx:
        got = tx.take_batch(4)  # all of two batches and part of the third
        assert type(got) is EventBatch and got.bodies() == [b"a", b"b", b"c", b"d"]
        assert got[3].headers == {"host": "h"}
    with ch.transaction() as tx:
        tx.put_batch(EventBatch([b"f"]))  # plain
    with ch.transaction() as tx:
        tx.put_batch(EventBatch([b"g", b"h"], lambda n: {"n": str(n)}, [7, 8]))  # headers made another way
    with ch.transaction() as tx:
        mixed = tx.take_batch(3)
        assert type(mixed) is EventBatch and mixed.bodies() == [b"e", b"f", b"g"] and not mixed.plain
        assert [e.headers for e in mixed] == [{"host": "h"}, {}, {"n": "7"}]
    put(ch, b"i")  # a list
    with ch.transaction() as tx:
        last = tx.take_batch(2)
        assert type(last) is list and [e.body for e in last] == [b"h", b"i"]
        assert last[0].headers == {"n": "8"}


def test_batches_and_lists_share_one_fifo_through_partial_takes_and_rollbacks() -> None:
    ch = memory(capacity=100, transactionCapacity=100)
    with ch.transaction() as tx:
        tx.put_batch(EventBatch([b"0", b"1", b"2"], lambda n: {"n": str(n)}, [0, 1, 2]))
    with ch.transaction() as tx:
        tx.put_batch(EventBatch([b"3"]))
        tx.put_batch([Event(b"4")])  # a second put in the same transaction: queued after the batch
    with ch.transaction() as tx:
        tx.put_batch(EventBatch([b"5", b"6"]))
    with ch.transaction() as tx:
        part = tx.take_batch(2)
        assert type(part) is EventBatch and [e.headers["n"] for e in part] == ["0", "1"]
    with pytest.raises(RuntimeError):
        with ch.transaction() as tx:
            assert [e.body for e in tx.take_batch(3)] == [b"2", b"3", b"4"]
            assert [e.body for e in tx.take_batch(1)] == [b"5"]
            raise RuntimeError("sink failed")
    assert ch.size() == 5
    with ch.transaction() as tx:
        again = tx.take_batch(1)
        assert again[0].headers == {"n": "2"}  # a rolled-back event keeps its headers
    assert take(ch) == [b"3", b"4", b"5", b"6"]
    assert ch.size() == 0


# A put is a list, a plain batch, or a batch whose headers are made from a template or a counter.
_PUT = st.tuples(st.sampled_from(["list", "plain", "template", "counted"]), st.integers(1, 5))
_STEP = st.one_of(st.tuples(st.just("put"), _PUT), st.tuples(st.sampled_from(["take", "fail"]), st.integers(1, 9)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_STEP, max_size=30))
def test_fuzz_lists_and_batches_come_out_in_order_with_their_headers(steps: list) -> None:
    """Any mix of puts (lists and every kind of batch), takes of any size and rolled-back takes: the
    events come out in put order, each exactly once, each with the headers it was put with."""
    ch = memory(capacity=1000, transactionCapacity=100)
    ch.TAKE_LINGER = 0.0  # type: ignore[misc]  # a take on an empty channel returns at once
    expected: list[tuple[bytes, dict[str, str]]] = []
    out: list[tuple[bytes, dict[str, str]]] = []
    n = 0
    for kind, arg in steps:
        if kind == "put":
            what, size = arg
            bodies = [b"e%d" % (n + i) for i in range(size)]
            if what == "list":
                events: Sequence[Event] = [Event(b, {"i": b.decode()}) for b in bodies]
                heads = [{"i": b.decode()} for b in bodies]
            elif what == "plain":
                events, heads = EventBatch(bodies), [{} for _ in bodies]
            elif what == "template":
                events = EventBatch(bodies, dict.copy, [{"t": "x"}] * size)
                heads = [{"t": "x"} for _ in bodies]
            else:
                events = EventBatch(bodies, lambda k: {"k": str(k)}, list(range(n, n + size)))
                heads = [{"k": str(n + i)} for i in range(size)]
            with ch.transaction() as tx:
                tx.put_batch(events)
            expected += zip(bodies, heads)
            n += size
        elif kind == "take":
            with ch.transaction() as tx:
                out += [(e.body, e.headers) for e in tx.take_batch(arg)]
        else:
            with pytest.raises(RuntimeError):
                with ch.transaction() as tx:
                    tx.take_batch(arg)
                    raise RuntimeError("sink failed")
    with ch.transaction() as tx:
        out += [(e.body, e.headers) for e in tx.take_batch(1000)]
    assert out == expected
    assert ch.size() == 0


def test_rolled_back_puts_are_discarded() -> None:
    ch = memory()
    with pytest.raises(RuntimeError):
        with ch.transaction() as tx:
            tx.put(Event(b"nope"))
            raise RuntimeError
    assert ch.size() == 0
    assert take(ch) == []


def test_take_from_empty_channel_returns_nothing() -> None:
    ch = memory()
    with ch.transaction() as tx:
        assert tx.take() is None
        assert tx.take_batch(5) == []


def test_reconfigure_keeps_events_and_applies_new_limits() -> None:
    ch = memory(capacity=10, transactionCapacity=5)
    put(ch, b"a", b"b", b"c")
    ch.configure(Context({"capacity": "4", "transactionCapacity": "2", "keep-alive": "0"}))
    assert (ch.capacity, ch.transaction_capacity) == (4, 2)
    assert ch.size() == 3
    put(ch, b"d")
    with pytest.raises(ChannelFullError):
        put(ch, b"e")
    with pytest.raises(ConfigError):
        ch.configure(Context({"capacity": "1", "transactionCapacity": "2"}))
    assert (ch.capacity, ch.transaction_capacity) == (4, 2)  # a bad reconfigure changes nothing
    assert take(ch, 2) == [b"a", b"b"]
    assert take(ch, 2) == [b"c", b"d"]


def test_concurrent_producers_and_consumers_lose_and_duplicate_nothing() -> None:
    ch = memory(capacity=50, transactionCapacity=10, keep_alive=10)
    producers, per_producer, batch = 4, 500, 5
    got: list[bytes] = []
    got_lock = threading.Lock()
    done = threading.Event()
    failures: list[BaseException] = []

    def produce(p: int) -> None:
        try:
            for start in range(0, per_producer, batch):
                put(ch, *[f"{p}-{i}".encode() for i in range(start, start + batch)])
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    def consume(k: int) -> None:
        n = 0
        while True:
            try:
                with ch.transaction() as tx:
                    events = tx.take_batch(7)
                    n += 1
                    if n % 5 == k:
                        raise RuntimeError("simulated sink failure")  # rolled back, retaken later
            except RuntimeError:
                continue
            with got_lock:
                got.extend(e.body for e in events)
            if not events and done.is_set() and ch.size() == 0:
                return

    consumers = [threading.Thread(target=consume, args=(k,)) for k in range(3)]
    prods = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in consumers + prods:
        t.start()
    for t in prods:
        t.join()
    done.set()
    for t in consumers:
        t.join()
    assert failures == []
    assert len(got) == producers * per_producer
    assert set(got) == {f"{p}-{i}".encode() for p in range(producers) for i in range(per_producer)}
    # each producer's events come out in the order they were put (one FIFO queue)
    for p in range(producers):
        mine = [int(b.split(b"-")[1]) for b in got if b.startswith(f"{p}-".encode())]
        assert sorted(mine) == list(range(per_producer))
    assert ch.size() == 0
    c = ch.counters.values
    assert c["EventPutSuccessCount"] == producers * per_producer
    assert c["EventTakeSuccessCount"] == producers * per_producer


def test_counters_and_gauges() -> None:
    ch = memory(capacity=4, transactionCapacity=4, keep_alive=0)
    put(ch, b"1", b"2", b"3")
    with pytest.raises(ChannelFullError):
        put(ch, b"4", b"5")
    with pytest.raises(RuntimeError):
        with ch.transaction() as tx:
            tx.take_batch(2)
            raise RuntimeError
    assert take(ch, 2) == [b"1", b"2"]
    snap = ch.counters.snapshot()
    assert snap["EventPutAttemptCount"] == "5"
    assert snap["EventPutSuccessCount"] == "3"
    assert snap["EventTakeAttemptCount"] == "2"
    assert snap["EventTakeSuccessCount"] == "2"
    assert snap["ChannelSize"] == "1"
    assert snap["ChannelCapacity"] == "4"
    assert float(snap["ChannelFillPercentage"]) == 25.0
    assert snap["Type"] == "CHANNEL"
