from flumepy.core.event import Event, TemplateEvent


def test_template_event_copies_headers_on_first_access() -> None:
    template = {"host": "h1", "Severity": "6"}
    a = TemplateEvent(b"one", template)
    b = TemplateEvent(b"two", template)
    a.headers["host"] = "changed"
    a.headers["extra"] = "1"
    assert template == {"host": "h1", "Severity": "6"}
    assert b.headers == {"host": "h1", "Severity": "6"}
    assert a.headers == {"host": "changed", "Severity": "6", "extra": "1"}
    assert a.headers is a.headers  # the event's own dict from then on


def test_template_event_equals_plain_event_and_accepts_new_headers() -> None:
    ev = TemplateEvent(b"body", {"k": "v"})
    assert ev == Event(b"body", {"k": "v"})
    assert isinstance(ev, Event)
    ev.headers = {"other": "x"}
    assert ev.headers == {"other": "x"}
    ev.body = b"new"
    assert ev == Event(b"new", {"other": "x"})
    assert "k" in repr(TemplateEvent(b"b", {"k": "v"}))
