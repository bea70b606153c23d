"""The event: a headers map (str -> str) and a byte body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
        self._make = make
        self._arg = arg

    def _headers(self) -> dict[str, str]:
        try:
            return _get_headers(self)  # type: ignore[no-any-return]
        except AttributeError:
            own = self._make(self._arg)
            _set_headers(self, own)
            self._arg = None  # what the headers were made from can go
            return own

    headers = property(_headers, _set_headers)  # type: ignore[assignment]
