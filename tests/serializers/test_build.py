"""build_serializer: type resolution through the registry and sub-context handling."""

import io

import pytest

from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.registry import Registry
from flumepy.serializers import build_serializer
from flumepy.serializers.avro_event import AvroEventSerializer
from flumepy.serializers.header_and_text import HeaderAndTextSerializer
from flumepy.serializers.text import TextSerializer


def ctx(values: dict[str, str]) -> Context:
    return Context(values, {k: i + 10 for i, k in enumerate(values)}, "a1.sinks.k1.", "agent.conf")


@pytest.mark.parametrize(("type_name", "cls"), [
    ("TEXT", TextSerializer),
    ("text", TextSerializer),
    ("HEADER_AND_TEXT", HeaderAndTextSerializer),
    ("avro_event", AvroEventSerializer),
    ("AVRO_EVENT", AvroEventSerializer),
    ("org.apache.flume.serialization.BodyTextEventSerializer$Builder", TextSerializer),
    ("org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder", HeaderAndTextSerializer),
    ("org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder", AvroEventSerializer),
    ("flumepy.serializers.text:TextSerializer", TextSerializer),
])
def test_type_names_resolve(type_name: str, cls: type, registry: Registry) -> None:
    s = build_serializer(ctx({"sink.serializer": type_name}), "sink.serializer", "k1.serializer",
                         registry=registry)
    assert type(s) is cls


def test_default_and_sub_context_without_registry() -> None:
    c = ctx({"sink.serializer.appendNewline": "false"})
    s = build_serializer(c, "sink.serializer", "k1.serializer")
    assert isinstance(s, TextSerializer)
    out = io.BytesIO()
    s.open(out).write_batch([Event(b"a"), Event(b"b")])
    assert out.getvalue() == b"ab"


def test_unknown_type_names_the_key_and_lists_types() -> None:
    with pytest.raises(ConfigError) as e:
        build_serializer(ctx({"sink.serializer": "txt"}), "sink.serializer", "s")
    msg = str(e.value)
    assert "agent.conf:10: a1.sinks.k1.sink.serializer:" in msg
    assert "header_and_text" in msg and "avro_event" in msg


def test_a_class_that_is_not_a_serializer_is_refused() -> None:
    with pytest.raises(ConfigError) as e:
        build_serializer(ctx({"sink.serializer": "flumepy.sinks.null:NullSink"}), "sink.serializer", "s")
    assert "not an event serializer" in str(e.value)


def test_bad_serializer_value_names_the_full_key() -> None:
    c = ctx({"sink.serializer": "avro_event", "sink.serializer.syncIntervalBytes": "big"})
    with pytest.raises(ConfigError) as e:
        build_serializer(c, "sink.serializer", "s")
    assert "agent.conf:11: a1.sinks.k1.sink.serializer.syncIntervalBytes: 'big' is not valid" in str(e.value)


def test_unknown_serializer_key_is_a_warning() -> None:
    c = ctx({"sink.serializer.appendNewLine": "false"})
    build_serializer(c, "sink.serializer", "s")
    [p] = c.problems
    assert p.level == "warning"
    assert p.key == "a1.sinks.k1.sink.serializer.appendNewLine"
    assert "did you mean appendNewline" in p.message
