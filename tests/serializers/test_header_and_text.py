import io

from flumepy.core.context import Context
from flumepy.core.event import Event
from flumepy.serializers.header_and_text import HeaderAndTextSerializer, java_map_string


def make(values: dict[str, str] | None = None) -> HeaderAndTextSerializer:
    s = HeaderAndTextSerializer("k1.serializer")
    s.configure(Context(values or {}))
    return s


def test_java_map_tostring() -> None:
    assert java_map_string({}) == "{}"
    assert java_map_string({"a": "1"}) == "{a=1}"
    assert java_map_string({"host": "web1", "level": "INFO"}) == "{host=web1, level=INFO}"
    # No escaping, as Java's AbstractMap.toString.
    assert java_map_string({"k=x": "a, b"}) == "{k=x=a, b}"


def test_exact_bytes() -> None:
    out = io.BytesIO()
    w = make().open(out)
    w.write_batch([
        Event(b"body one", {"host": "web1", "level": "INFO"}),
        Event(b"no headers"),
        Event(b"\x00bin", {"caf\u00e9": "\u00fc"}),
    ])
    w.close()
    assert out.getvalue() == (
        b"{host=web1, level=INFO} body one\n"
        b"{} no headers\n"
        + "{caf\u00e9=\u00fc} ".encode("utf-8") + b"\x00bin\n"
    )


def test_append_newline_false() -> None:
    out = io.BytesIO()
    w = make({"appendNewline": "false"}).open(out)
    w.write_batch([Event(b"a", {"k": "v"}), Event(b"b")])
    w.close()
    assert out.getvalue() == b"{k=v} a{} b"
