import io

import pytest

from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event, EventBatch
from flumepy.serializers.text import TextSerializer


def make(values: dict[str, str] | None = None) -> TextSerializer:
    s = TextSerializer("k1.serializer")
    s.configure(Context(values or {}, prefix="a1.sinks.k1.sink.serializer."))
    return s


def test_body_then_newline_headers_not_written() -> None:
    out = io.BytesIO()
    w = make().open(out)
    w.write_batch([Event(b"one", {"h": "v"}), Event(b""), Event(b"three\xff")])
    w.write_batch([])
    w.flush()
    w.close()
    assert out.getvalue() == b"one\n\nthree\xff\n"


def test_append_newline_false_concatenates_bodies() -> None:
    out = io.BytesIO()
    w = make({"appendNewline": "false"}).open(out)
    w.write_batch([Event(b"a"), Event(b"b")])
    w.write_batch([Event(b"c")])
    w.close()
    assert out.getvalue() == b"abc"


def test_a_batch_is_written_from_its_bodies_or_from_its_events_once_made() -> None:
    out = io.BytesIO()
    w = make().open(out)
    batch = EventBatch([b"a", b"b"])
    w.write_batch(batch)
    assert batch.plain  # written without making an event
    changed = EventBatch([b"c", b"d"])
    changed[0].body = b"C"  # events made and changed (as an interceptor could): they are written
    w.write_batch(changed)
    assert out.getvalue() == b"a\nb\nC\nd\n"


def test_close_writes_no_trailer_and_leaves_stream_open() -> None:
    out = io.BytesIO()
    w = make().open(out)
    w.write_batch([Event(b"x")])
    w.close()
    assert not out.closed
    assert out.getvalue() == b"x\n"


def test_bad_append_newline_names_the_full_key() -> None:
    with pytest.raises(ConfigError) as e:
        make({"appendNewline": "maybe"})
    assert "a1.sinks.k1.sink.serializer.appendNewline" in str(e.value)
    assert "'maybe'" in str(e.value)
