from flumepy.core.event import Event, LazyEvent


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


def test_lazy_event_makes_headers_once_and_drops_its_source() -> None:
    calls: list[int] = []

    def make(n: int) -> dict[str, str]:
        calls.append(n)
        return {"n": str(n)}

    ev = LazyEvent(b"x", make, 7)
    assert calls == []
    assert ev.headers == {"n": "7"}
    ev.headers["more"] = "1"
    assert ev.headers == {"n": "7", "more": "1"}
    assert calls == [7]
