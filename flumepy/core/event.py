"""The event: a headers map (str -> str) and a byte body."""

from __future__ import annotations


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


class TemplateEvent(Event):
    """An Event whose headers are a copy of a shared template dict, made on first access.

    Sources that give many events the same headers (a syslog batch from one host, one second) build
    these instead of copying the dict per event: a sink that never looks at headers (file_roll with
    TEXT) then never pays for the copy, and a queued event holds no dict of its own.  To everything
    else it is an Event: ``ev.headers`` returns the event's own dict (copied from the template the
    first time), so mutating it never touches the template or other events.  The template must not
    change after it was handed out.
    """

    __slots__ = ("_template",)

    def __init__(self, body: bytes, template: dict[str, str]) -> None:
        self.body = body
        self._template = template

    def _headers(self) -> dict[str, str]:
        try:
            return _get_headers(self)  # type: ignore[no-any-return]
        except AttributeError:
            own = self._template.copy()
            _set_headers(self, own)
            return own

    headers = property(_headers, _set_headers)  # type: ignore[assignment]
