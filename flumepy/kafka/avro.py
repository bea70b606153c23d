"""Flume's ``AvroFlumeEvent`` binary datum (``useFlumeEventFormat`` / ``parseAsFlumeEvent``).

A plain Avro binary datum of the record ``org.apache.flume.source.avro.AvroFlumeEvent`` (headers
``map<string>`` then ``bytes`` body), with no container header and no schema id: byte-compatible with
what Flume's Kafka sink and channel write and read.  Example: headers ``{}``, body ``hi`` ->
``00 04 68 69``.
"""

from __future__ import annotations

import io

import fastavro

from flumepy.core.event import Event

SCHEMA = fastavro.parse_schema({
    "type": "record",
    "name": "AvroFlumeEvent",
    "namespace": "org.apache.flume.source.avro",
    "fields": [
        {"name": "headers", "type": {"type": "map", "values": "string"}},
        {"name": "body", "type": "bytes"},
    ],
})


def encode(event: Event) -> bytes:
    """The event as one AvroFlumeEvent binary datum."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMA, {"headers": event.headers, "body": event.body})
    return buf.getvalue()


def decode(data: bytes) -> Event:
    """An event from one AvroFlumeEvent binary datum; ValueError if the bytes are not one."""
    buf = io.BytesIO(data)
    try:
        rec = fastavro.schemaless_reader(buf, SCHEMA, None)
    except Exception as e:  # fastavro raises EOFError, UnicodeDecodeError, ... on garbage
        raise ValueError(f"not a Flume Avro event ({type(e).__name__}: {e})") from None
    if buf.tell() != len(data):
        raise ValueError(f"not a Flume Avro event ({len(data) - buf.tell()} bytes left over)")
    return Event(rec["body"], dict(rec["headers"]))  # type: ignore[arg-type,call-overload,index]
