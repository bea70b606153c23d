import threading
import weakref
from collections.abc import Callable

import pytest

from flumepy.core.event import Event, EventBatch, HomeFree, LazyEvent


def test_lazy_event_copies_headers_on_first_access() -> None:
    template = {"host": "h1", "Severity": "6"}
    a = LazyEvent(b"one", dict.copy, template)
    b = LazyEvent(b"two", dict.copy, template)
    a.headers["host"] = "changed"
    a.headers["extra"] = "1"
    assert template == {"host": "h1", "Severity": "6"}
    assert b.headers == {"host": "h1", "Severity": "6"}
    assert a.headers == {"host": "changed", "Severity": "6", "extra": "1"}
    assert a.headers is a.headers  # the event's own dict from then on


def test_lazy_event_equals_plain_event_and_accepts_new_headers() -> None:
    ev = LazyEvent(b"body", dict.copy, {"k": "v"})
    assert ev == Event(b"body", {"k": "v"})
    assert isinstance(ev, Event)
    ev.headers = {"other": "x"}
    assert ev.headers == {"other": "x"}
    ev.body = b"new"
    assert ev == Event(b"new", {"other": "x"})
    assert "k" in repr(LazyEvent(b"b", dict.copy, {"k": "v"}))


def counting_make() -> tuple[list[int], Callable[[int], dict[str, str]]]:
    """A header maker {"n": str(n)} and the list of the arguments it was called with."""
    calls: list[int] = []

    def make(n: int) -> dict[str, str]:
        calls.append(n)
        return {"n": str(n)}

    return calls, make


def test_lazy_event_makes_headers_once_and_drops_its_source() -> None:
    calls, make = counting_make()
    ev = LazyEvent(b"x", make, 7)
    assert calls == []
    assert ev.headers == {"n": "7"}
    ev.headers["more"] = "1"
    assert ev.headers == {"n": "7", "more": "1"}
    assert calls == [7]
    assert ev._arg is None  # what the headers were made from can go


def test_lazy_event_headers_assigned_before_any_read_are_kept() -> None:
    calls, make = counting_make()
    ev = LazyEvent(b"x", make, 7)
    ev.headers = {"set": "first"}
    assert ev.headers == {"set": "first"} and calls == []
    assert ev == Event(b"x", {"set": "first"})


def test_event_batch_makes_plain_events_once_on_first_read() -> None:
    batch = EventBatch([b"a", b"b", b"c"])
    assert len(batch) == 3 and batch.plain
    assert batch.bodies() == [b"a", b"b", b"c"]
    first = batch[0]
    assert first == Event(b"a") and type(first) is Event
    assert not batch.plain  # the events exist now: their headers may change
    assert batch[0] is first and list(batch)[0] is first
    first.headers["k"] = "v"
    first.body = b"changed"
    assert batch.bodies() == [b"changed", b"b", b"c"]  # the events are the truth once made
    assert batch == [Event(b"changed", {"k": "v"}), Event(b"b"), Event(b"c")]
    assert batch != [Event(b"changed", {"k": "v"})]
    assert "3 events" in repr(batch)


def test_event_batch_with_make_gives_lazy_events_with_their_headers() -> None:
    calls, make = counting_make()
    batch = EventBatch([b"x", b"y"], make, [1, 2])
    assert not batch.plain
    events = list(batch)
    assert all(isinstance(e, LazyEvent) for e in events) and calls == []
    assert [e.headers for e in events] == [{"n": "1"}, {"n": "2"}] and calls == [1, 2]
    with pytest.raises(ValueError, match="one argument per body"):
        EventBatch([b"x", b"y"], make, [1])


def test_event_batch_slices_stay_batches_until_events_are_made() -> None:
    batch = EventBatch([b"0", b"1", b"2", b"3"], lambda n: {"n": str(n)}, [0, 1, 2, 3])
    part = batch[1:3]
    assert type(part) is EventBatch and part.bodies() == [b"1", b"2"]
    assert [e.headers["n"] for e in part] == ["1", "2"]
    assert [e.headers["n"] for e in batch[::2]] == ["0", "2"]
    batch.events()
    made = batch[1:3]
    assert type(made) is list and made[0] is batch[1]


def test_joined_batches_keep_each_events_headers_and_slice_like_one_batch() -> None:
    plain = EventBatch([b"p0", b"p1"])
    counted = EventBatch([b"c0", b"c1"], lambda n: {"n": str(n)}, [0, 1])
    shared = EventBatch([b"s0"], dict.copy, [{"k": "v"}])
    joined = EventBatch.join([plain, counted, shared])
    assert joined is not None and len(joined) == 5 and all(b.plain or b._events is None for b in (plain, counted))
    assert joined.bodies() == [b"p0", b"p1", b"c0", b"c1", b"s0"]
    middle = joined[1:4]
    assert [e.headers for e in middle] == [{}, {"n": "0"}, {"n": "1"}]
    assert [e.headers for e in joined] == [{}, {}, {"n": "0"}, {"n": "1"}, {"k": "v"}]
    same = EventBatch.join([EventBatch([b"a"]), EventBatch([b"b"])])
    assert same is not None and same.plain and same.bodies() == [b"a", b"b"]
    counted.events()
    assert EventBatch.join([plain, counted]) is None  # events made: they may have changed
    assert EventBatch.join([plain, [Event(b"x")]]) is None


class _Record:
    """Stands for a client's record object (weakly referenceable, to see when it is freed)."""

    def __init__(self, body: bytes) -> None:
        self.body = body


def _batch(home: HomeFree, n: int) -> tuple[EventBatch, list[weakref.ref[_Record]]]:
    records = [_Record(b"%d" % i) for i in range(n)]
    bodies = [r.body for r in records]
    home.keep(bodies, records)
    return EventBatch(bodies, lambda r: {"n": r.body.decode()}, records), [weakref.ref(r) for r in records]


def test_home_free_frees_a_batch_on_the_releasing_thread_once_nobody_else_holds_it() -> None:
    home = HomeFree()
    batch, refs = _batch(home, 3)
    home.release()
    assert len(home) == 1  # the batch still holds the records
    events = list(batch)
    assert [e.headers for e in events] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
    del batch, events
    freed_on: list[str] = []
    t = threading.Thread(target=lambda: (home.release(), freed_on.append(threading.current_thread().name)),
                         name="source")
    assert all(r() is not None for r in refs)  # dropped by the "sink", still alive: kept for the source
    t.start()
    t.join()
    assert len(home) == 0 and all(r() is None for r in refs) and freed_on == ["source"]


def test_home_free_releases_oldest_first_and_keeps_at_most_its_limit() -> None:
    home = HomeFree(limit=2)
    first, first_refs = _batch(home, 1)
    second, second_refs = _batch(home, 1)
    del second
    home.release()
    assert len(home) == 2 and second_refs[0]() is not None  # waits behind the first, still in use
    third, _ = _batch(home, 1)  # over the limit: the first is let go though still in use
    assert len(home) == 2 and first_refs[0]() is not None  # alive through the batch that holds it
    home.release()
    assert len(home) == 1 and second_refs[0]() is None
    del first
    assert first_refs[0]() is None  # freed with its batch, as without a HomeFree
    home.clear()
    assert len(home) == 0


def _stamp_maker(made: list[int]) -> Callable[[int], dict[str, str]]:
    """A LazyEvent maker over ints that counts the header dicts it makes and can give the
    ``timestamp`` header as a column (``column``), as the Kafka source's maker does."""

    def make(i: int) -> dict[str, str]:
        made.append(i)
        return {"timestamp": str(1000 + i), "n": str(i)}

    make.column = lambda name, args: [str(1000 + i) for i in args] if name == "timestamp" else None  # type: ignore[attr-defined]
    return make


def test_header_values_come_from_the_makers_column_without_making_events() -> None:
    made: list[int] = []
    batch = EventBatch([b"a", b"b", b"c"], _stamp_maker(made), [0, 1, 2])
    assert batch.header_values("timestamp") == ["1000", "1001", "1002"]
    assert batch[1:].header_values("timestamp") == ["1001", "1002"]  # type: ignore[attr-defined]
    assert made == [] and batch.bodies() == [b"a", b"b", b"c"]
    assert batch.header_values("n") == ["0", "1", "2"]  # not a column: the events are made
    assert made == [0, 1, 2]


def test_header_values_follow_changes_once_the_events_exist() -> None:
    batch = EventBatch([b"a", b"b"], _stamp_maker([]), [0, 1])
    batch[0].headers["timestamp"] = "7"
    del batch[1].headers["timestamp"]
    assert batch.header_values("timestamp") == ["7", None]
    assert EventBatch([b"x", b"y"]).header_values("timestamp") == [None, None]  # plain: no headers


def test_header_values_of_joined_batches_run_by_run() -> None:
    made: list[int] = []
    first = EventBatch([b"a", b"b"], _stamp_maker(made), [0, 1])
    second = EventBatch([b"c"], _stamp_maker(made), [5])
    joined = EventBatch.join([first, second])
    assert joined is not None and joined.header_values("timestamp") == ["1000", "1001", "1005"]
    assert made == []
    with_plain = EventBatch.join([first, EventBatch([b"p"])])  # a part without a column: events made
    assert with_plain is not None and with_plain.header_values("timestamp") == ["1000", "1001", None]
    assert made == [0, 1]
