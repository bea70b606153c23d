"""The event: a headers map (str -> str) and a byte body."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, groupby, repeat
from operator import attrgetter
from typing import Any, overload


class Event:
    """A Flume event. Slots keep it small; batches of these move through channels."""

    __slots__ = ("body", "headers")

    def __init__(self, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.body = body
        self.headers = {} if headers is None else headers

    def __repr__(self) -> str:
        return f"Event(headers={self.headers!r}, body={self.body[:32]!r}{'...' if len(self.body) > 32 else ''})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self.body == other.body and self.headers == other.headers

    __hash__ = None  # type: ignore[assignment]


_HEADERS_SLOT = Event.__dict__["headers"]
_get_headers = _HEADERS_SLOT.__get__
_set_headers = _HEADERS_SLOT.__set__


class LazyEvent(Event):
    """An Event whose headers are made by ``make(arg)`` the first time something reads them.

    Sources that can describe many events' headers cheaply build these instead of a dict per event:
    a syslog batch shares one template dict per head (``LazyEvent(body, dict.copy, template)``), a
    Kafka batch keeps the record and builds timestamp/partition/offset from it.  A sink that never
    looks at headers (file_roll or hdfs with the TEXT serializer, null) then never pays for them, and a
    queued event holds no dict of its own.  To everything else it is an Event: ``ev.headers`` returns
    the event's own dict (made on first access, then kept), so mutating it never touches a template or
    other events, and assigning ``ev.headers`` works as usual.  ``make`` must return a new dict each
    call and must not depend on anything that changes after the event was built.
    """

    __slots__ = ("_make", "_arg")

    def __init__(self, body: bytes, make: Callable[[Any], dict[str, str]], arg: Any) -> None:
        self.body = body
        self._make: Callable[[Any], dict[str, str]] | None = make
        self._arg = arg

    def _headers(self) -> dict[str, str]:
        make = self._make
        if make is None:  # made (or assigned) already
            return _get_headers(self)  # type: ignore[no-any-return]
        own = make(self._arg)
        _set_headers(self, own)
        self._make = self._arg = None  # what the headers were made from can go
        return own

    def _assign(self, headers: dict[str, str]) -> None:
        _set_headers(self, headers)
        self._make = self._arg = None

    # (no try/except AttributeError on the slot: raising it cost ~2 us on each event's first read)
    headers = property(_headers, _assign)  # type: ignore[assignment]


def _no_headers(_: Any) -> dict[str, str]:
    return {}


_body = attrgetter("body")


def bodies_of(events: Sequence[Event]) -> list[bytes]:
    """The bodies of a batch, in order: an EventBatch's column (no event made) or each event's."""
    return events.bodies() if type(events) is EventBatch else list(map(_body, events))


def header_values_of(events: Sequence[Event], name: str) -> list[str | None]:
    """Header ``name`` of every event of a batch, in order (None where missing): an EventBatch's
    column when its source gives one (:meth:`EventBatch.header_values`), otherwise each event's."""
    if type(events) is EventBatch:
        return events.header_values(name)
    return [e.headers.get(name) if e.headers else None for e in events]


class EventBatch(Sequence[Event]):
    """A batch of events kept as columns until something needs the event objects.

    A source that already holds a batch's bodies in a list (and, for the headers, one argument per
    event for ``make``, as :class:`LazyEvent` takes them) hands over ``EventBatch(bodies, make, args)``
    instead of building an object per event.  A memory channel queues it as it is and gives it whole
    to the sink that takes it; a sink that writes bodies only (the text serializer, SequenceFile
    without timestamps, null) reads :meth:`bodies` and no event object is ever made.

    To everything else it is a read-only sequence of events: indexing or iterating makes the events
    once (``make=None``: plain :class:`Event` objects with empty headers; otherwise LazyEvents), and
    later reads return those same objects, so changes to them stick as they would in a list.  A slice
    taken before that is another EventBatch over the sliced columns, and :meth:`join` makes one batch
    of several (a channel take across batches).  Batches never change after they are made: a channel
    may queue the same batch for several sinks.
    """

    __slots__ = ("_bodies", "_make", "_args", "_events")

    def __init__(self, bodies: list[bytes], make: Callable[[Any], dict[str, str]] | None = None,
                 args: Sequence[Any] | None = None) -> None:
        if make is not None and (args is None or len(args) != len(bodies)):
            raise ValueError("EventBatch: make needs one argument per body")
        self._bodies = bodies
        # None (plain), one callable for every event, or (joined batches) a list of one per event
        self._make: Any = make
        self._args = args
        self._events: list[Event] | None = None

    @classmethod
    def _columns(cls, bodies: list[bytes], make: Any, args: Sequence[Any] | None) -> EventBatch:
        """A batch over columns already checked (``make`` may be a per-event list)."""
        batch = cls(bodies)
        batch._make, batch._args = make, args
        return batch

    def events(self) -> list[Event]:
        """The events as a list (made on the first call, the same objects afterwards)."""
        evs = self._events
        if evs is None:
            make = self._make
            if make is None:
                evs = list(map(Event, self._bodies))
            else:
                makes = make if type(make) is list else repeat(make)
                evs = list(map(LazyEvent, self._bodies, makes, self._args))  # type: ignore[arg-type]
            self._events = evs
        return evs

    def bodies(self) -> list[bytes]:
        """The bodies, in order (the column itself until the events exist; do not change it)."""
        if self._events is None:
            return self._bodies
        return [e.body for e in self._events]

    @staticmethod
    def join(parts: Sequence[Sequence[Event]]) -> EventBatch | None:
        """One batch of ``parts``, in order, when they are all batches without events made yet;
        otherwise None.  Parts that share their ``make`` (all plain, say) keep it; others get a
        per-event list of them."""
        batches: list[EventBatch] = []
        for p in parts:
            if type(p) is not EventBatch or p._events is not None:
                return None
            batches.append(p)
        bodies = list(chain.from_iterable(b._bodies for b in batches))
        make = batches[0]._make
        if all(b._make is make for b in batches):  # make may be a list already (a joined batch's slice)
            same = None if make is None else list(chain.from_iterable(b._args for b in batches))  # type: ignore[arg-type,misc]
            return EventBatch._columns(bodies, make, same)
        makes: list[Callable[[Any], dict[str, str]]] = []
        args: list[Any] = []
        for b in batches:
            n = len(b._bodies)
            m = b._make
            makes.extend(m if type(m) is list else repeat(_no_headers if m is None else m, n))
            args.extend(repeat(None, n) if b._args is None else b._args)
        return EventBatch._columns(bodies, makes, args)

    def header_values(self, name: str) -> list[str | None]:
        """Header ``name`` of every event, in order (None where an event lacks it).

        While the events are not made, a maker with a ``column(name, args)`` attribute gives the
        values straight from its arguments (a Kafka batch's timestamps from its records), without
        making an event or a headers dict; ``column`` returns None for a header it cannot give that
        way.  Otherwise (or once the events exist, headers perhaps changed) each event's headers are read.
        """
        if self._events is None:
            make = self._make
            if make is None:
                return [None] * len(self._bodies)
            if type(make) is not list:
                column = getattr(make, "column", None)
                got = None if column is None else column(name, self._args)
                if got is not None:
                    return got  # type: ignore[no-any-return]
            else:  # joined batches: one run per maker
                out: list[str | None] = []
                args = self._args
                assert args is not None
                i = 0
                for m, run in groupby(make):
                    j = i + sum(1 for _ in run)
                    column = getattr(m, "column", None)
                    got = None if column is None else column(name, args[i:j])
                    if got is None:
                        break
                    out += got
                    i = j
                else:
                    return out
        return header_values_of(self.events(), name)

    @property
    def plain(self) -> bool:
        """True when every event's headers are empty (events not made yet, and none to make)."""
        return self._make is None and self._events is None

    def __len__(self) -> int:
        return len(self._bodies)

    @overload
    def __getitem__(self, i: int) -> Event: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Event]: ...

    def __getitem__(self, i: int | slice) -> Event | Sequence[Event]:
        if isinstance(i, slice) and self._events is None:
            make = self._make
            return EventBatch._columns(self._bodies[i], make[i] if type(make) is list else make,
                                       None if self._args is None else self._args[i])
        return self.events()[i]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (EventBatch, list, tuple)):
            return self.events() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EventBatch({len(self)} events{'' if self._events is None else ', made'})"


class HomeFree:
    """Frees the objects of a source's batches on the source's own thread.

    Without it, a batch's objects are freed by whoever drops the last reference: the sink thread that
    committed it, usually on the other core.  Every object then travels between the cores' caches twice,
    once to be freed and once when the source reuses its memory.  With a Kafka source, freeing the
    confluent-kafka records cost the hdfs sink about 0.12 µs a record; freed here, on the source thread
    that just made them, the sink thread spent 0.20-0.36 µs a record instead of 0.43-0.48.  Alternating
    A/B runs (8 pairs each, one broker): kafka -> memory -> null 845k -> 965k events/s (medians),
    kafka -> memory -> hdfs 671k -> 740k.

    The source gives ``keep()`` the lists a batch is built from (bodies, records) when it puts the
    batch; ``release()``, called on the source's thread before it makes the next batch, drops them,
    oldest first, once nothing else holds them (CPython reference counts: the batch left every channel
    and sink).  Nothing changes for anyone else, and the lists are dropped either way.  At most
    ``limit`` batches are kept: beyond that the oldest is dropped whoever still holds it.
    """

    __slots__ = ("_kept", "limit")

    def __init__(self, limit: int = 256) -> None:
        self._kept: deque[tuple[list[Any], ...]] = deque()
        self.limit = limit

    def keep(self, *columns: list[Any]) -> None:
        self._kept.append(columns)
        if len(self._kept) > self.limit:
            self._kept.popleft()

    def release(self) -> None:
        kept = self._kept
        refs = sys.getrefcount
        # 2: the tuple's reference and getrefcount's argument (map passes it; no name holds it).
        while kept and max(map(refs, kept[0])) <= 2:
            kept.popleft()

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
