"""Flume's Avro RPC protocol (``flume.avdl``) and the Avro IPC messages that carry it.

``AvroSourceProtocol`` has two messages, ``append(AvroFlumeEvent)`` and
``appendBatch(array<AvroFlumeEvent>)``, both answering a ``Status`` enum (OK, FAILED, UNKNOWN).
Avro IPC wraps each call (spec: "Protocol Wire Format"; Java: ``Requestor``/``Responder``):

* request: [``HandshakeRequest``, until the connection's handshake succeeded], call metadata
  (``map<bytes>``), message name (``string``), the message's parameters;
* response: [``HandshakeResponse``, when the request carried a handshake], call metadata, a boolean
  error flag, then the response (``Status``) or the error (union ``["string"]``).

The protocol text below is what Flume's generated ``AvroSourceProtocol.PROTOCOL.toString()`` prints
(Avro keeps the license comment before ``protocol`` in flume.avdl as the protocol's ``doc``), so its
MD5 is the hash every Flume client and server sends: ``86aadae2c45474c0fe93ffd0f2350a65``.  A peer
with another hash still works through the second handshake round.
"""

from __future__ import annotations

import hashlib
import io
import json
from itertools import chain
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from flumepy.core.event import Event

_DOC = (
    '* Licensed to the Apache Software Foundation (ASF) under one\n'
    ' * or more contributor license agreements.  See the NOTICE file\n'
    ' * distributed with this work for additional information\n'
    ' * regarding copyright ownership.  The ASF licenses this file\n'
    ' * to you under the Apache License, Version 2.0 (the\n'
    ' * "License"); you may not use this file except in compliance\n'
    ' * with the License.  You may obtain a copy of the License at\n'
    ' *\n'
    ' * http://www.apache.org/licenses/LICENSE-2.0\n'
    ' *\n'
    ' * Unless required by applicable law or agreed to in writing,\n'
    ' * software distributed under the License is distributed on an\n'
    ' * "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY\n'
    ' * KIND, either express or implied.  See the License for the\n'
    ' * specific language governing permissions and limitations\n'
    ' * under the License.'
)

PROTOCOL_JSON = (
    '{"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","doc":' + json.dumps(_DOC)
    + ',"types":[{"type":"enum","name":"Status","symbols":["OK","FAILED","UNKNOWN"]},'
    '{"type":"record","name":"AvroFlumeEvent","fields":[{"name":"headers","type":{"type":"map",'
    '"values":"string"}},{"name":"body","type":"bytes"}]}],"messages":{"append":{"request":[{"name":'
    '"event","type":"AvroFlumeEvent"}],"response":"Status"},"appendBatch":{"request":[{"name":"events",'
    '"type":{"type":"array","items":"AvroFlumeEvent"}}],"response":"Status"}}}'
)
PROTOCOL_MD5 = hashlib.md5(PROTOCOL_JSON.encode("utf-8")).digest()

STATUS_SYMBOLS = ("OK", "FAILED", "UNKNOWN")
MESSAGES = ("append", "appendBatch")

_EVENT = {
    "type": "record", "name": "AvroFlumeEvent", "namespace": "org.apache.flume.source.avro",
    "fields": [{"name": "headers", "type": {"type": "map", "values": "string"}}, {"name": "body", "type": "bytes"}],
}
EVENT_SCHEMA = parse_schema(_EVENT)
BATCH_SCHEMA = parse_schema({"type": "array", "items": _EVENT})
STATUS_SCHEMA = parse_schema({"type": "enum", "name": "Status", "namespace": "org.apache.flume.source.avro",
                              "symbols": list(STATUS_SYMBOLS)})
META_SCHEMA = parse_schema({"type": "map", "values": "bytes"})
STRING_SCHEMA = parse_schema("string")
BOOLEAN_SCHEMA = parse_schema("boolean")
ERROR_SCHEMA = parse_schema(["string"])
_MD5 = {"type": "fixed", "name": "MD5", "namespace": "org.apache.avro.ipc", "size": 16}
HANDSHAKE_REQUEST_SCHEMA = parse_schema({
    "type": "record", "name": "HandshakeRequest", "namespace": "org.apache.avro.ipc",
    "fields": [
        {"name": "clientHash", "type": _MD5},
        {"name": "clientProtocol", "type": ["null", "string"]},
        {"name": "serverHash", "type": "org.apache.avro.ipc.MD5"},
        {"name": "meta", "type": ["null", {"type": "map", "values": "bytes"}]},
    ],
})
HANDSHAKE_RESPONSE_SCHEMA = parse_schema({
    "type": "record", "name": "HandshakeResponse", "namespace": "org.apache.avro.ipc",
    "fields": [
        {"name": "match", "type": {"type": "enum", "name": "HandshakeMatch", "symbols": ["BOTH", "CLIENT", "NONE"]}},
        {"name": "serverProtocol", "type": ["null", "string"]},
        {"name": "serverHash", "type": ["null", _MD5]},
        {"name": "meta", "type": ["null", {"type": "map", "values": "bytes"}]},
    ],
})


class ProtocolError(Exception):
    """A peer sent bytes that are not a valid Avro IPC message of this protocol."""


def read(fo: io.BytesIO, schema: Any) -> Any:
    """One datum from ``fo``; any decoding failure becomes ProtocolError."""
    try:
        return schemaless_reader(fo, schema, None)
    except ProtocolError:
        raise
    except Exception as e:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, IndexError ...
        raise ProtocolError(f"cannot decode {_name(schema)}: {type(e).__name__}: {e}") from None


def write(fo: io.BytesIO, schema: Any, datum: Any) -> None:
    schemaless_writer(fo, schema, datum)


def _name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name") or schema.get("type"))
    return str(schema)


# -- events ----------------------------------------------------------------------------------------
def to_avro(events: list[Event]) -> list[dict[str, Any]]:
    return [{"headers": e.headers, "body": e.body} for e in events]


def from_avro(records: list[dict[str, Any]]) -> list[Event]:
    return [Event(r["body"], r["headers"]) for r in records]


def encode_call(message: str, params: bytes, handshake: dict[str, Any] | None = None) -> bytes:
    """A request: optional handshake, empty call metadata, message name, then encoded parameters."""
    fo = io.BytesIO()
    if handshake is not None:
        write(fo, HANDSHAKE_REQUEST_SCHEMA, handshake)
    fo.write(b"\x00")  # empty metadata map
    write(fo, STRING_SCHEMA, message)
    fo.write(params)
    return fo.getvalue()


def _long(n: int) -> bytes:
    """Avro's zig-zag varint encoding of a long."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL = 1 << 12
_LENGTH = [_long(n) for n in range(_SMALL)]  # the length prefix of bytes/strings shorter than 4 KiB
_NO_HEADERS = [b"\x00" + x for x in _LENGTH]  # an empty headers map, then the body's length


def _length(n: int) -> bytes:
    return _LENGTH[n] if n < _SMALL else _long(n)


def encode_events(events: list[Event]) -> bytes:
    """``array<AvroFlumeEvent>`` as fastavro writes it (one block), encoded here: bodies are joined,
    not copied into a writer, and events without headers cost no per-event Python code."""
    if not events:
        return b"\x00"
    bodies = [e.body for e in events]
    if not any([e.headers for e in events]):
        try:
            prefixes = list(map(_NO_HEADERS.__getitem__, map(len, bodies)))
        except IndexError:  # a body of 4 KiB or more
            prefixes = [_NO_HEADERS[0][:1] + _length(len(b)) for b in bodies]
        return b"".join([_long(len(events)), *chain.from_iterable(zip(prefixes, bodies)), b"\x00"])
    parts = [_long(len(events))]
    add = parts.append
    keys = _KEYS
    for e, body in zip(events, bodies):
        h = e.headers
        if h:
            add(_long(len(h)))
            for k, v in h.items():
                kb = keys.get(k)
                if kb is None:
                    kb = _string(k)
                    if len(keys) < 1024:
                        keys[k] = kb
                add(kb)
                vb = v.encode("utf-8")
                add(_length(len(vb)))
                add(vb)
        add(b"\x00")
        add(_length(len(body)))
        add(body)
    add(b"\x00")
    return b"".join(parts)


def _string(s: str) -> bytes:
    b = s.encode("utf-8")
    return _length(len(b)) + b


_KEYS: dict[str, bytes] = {}  # encoded header names (a cache of pure values: no state)


def decode_events(data: bytes, pos: int) -> tuple[list[Event], int]:
    """``array<AvroFlumeEvent>`` at ``data[pos:]`` -> (events, end position).

    A plain-Python reader (fastavro builds a dict per record and per header map that would be copied
    again into Events); anything it does not expect is read again by fastavro, whose error is raised.
    """
    try:
        return _decode_events(data, pos)
    except Exception:
        fo = io.BytesIO(data)
        fo.seek(pos)
        events = from_avro(read(fo, BATCH_SCHEMA))
        return events, fo.tell()


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    z = 0
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        if b < 0x80:
            return (z >> 1) ^ -(z & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _decode_events(data: bytes, pos: int) -> tuple[list[Event], int]:
    bodies: list[bytes] = []
    headers: list[dict[str, str] | None] = []
    add_body = bodies.append
    add_headers = headers.append
    n = len(data)
    while True:
        count, pos = _varint(data, pos)
        if count == 0:
            break
        if count < 0:
            count = -count
            _, pos = _varint(data, pos)  # block size in bytes
        for _ in range(count):
            b = data[pos]
            if b == 0:  # no headers
                b = data[pos + 1]
                if b < 0x80:  # and a body shorter than 64 bytes: the common records
                    if not b & 1:
                        start = pos + 2
                        pos = start + (b >> 1)
                        add_body(data[start:pos])
                        add_headers(None)
                        continue
                elif data[pos + 2] < 0x80:  # ... or than 8 KiB
                    z = (b & 0x7F) | (data[pos + 2] << 7)
                    if not z & 1:
                        start = pos + 3
                        pos = start + (z >> 1)
                        add_body(data[start:pos])
                        add_headers(None)
                        continue
                pos += 1
                add_headers(None)
            else:
                h: dict[str, str] = {}
                while True:
                    m, pos = _varint(data, pos)
                    if m == 0:
                        break
                    if m < 0:
                        m = -m
                        _, pos = _varint(data, pos)
                    for _ in range(m):
                        ln, pos = _varint(data, pos)
                        end = pos + ln
                        if ln < 0 or end > n:
                            raise ValueError("short string")
                        k = data[pos:end].decode("utf-8")
                        ln, pos = _varint(data, end)
                        end = pos + ln
                        if ln < 0 or end > n:
                            raise ValueError("short string")
                        h[k] = data[pos:end].decode("utf-8")
                        pos = end
                add_headers(h)
            b = data[pos]
            if b < 0x80:  # a body shorter than 64 bytes: one-byte length
                if b & 1:
                    raise ValueError("negative length")
                pos += 1
                end = pos + (b >> 1)
            else:
                ln, pos = _varint(data, pos)
                if ln < 0:
                    raise ValueError("negative length")
                end = pos + ln
            if end > n:
                raise ValueError("short body")
            add_body(data[pos:end])
            pos = end
    if pos > n:
        raise ValueError("short body")
    return list(map(Event, bodies, headers)), pos


def encode_event(event: Event) -> bytes:
    fo = io.BytesIO()
    write(fo, EVENT_SCHEMA, {"headers": event.headers, "body": event.body})
    return fo.getvalue()


def handshake_request(client_protocol: str | None = None, server_hash: bytes = PROTOCOL_MD5) -> dict[str, Any]:
    """What Java's Requestor sends: our hash, the server hash it guesses, protocol text on retry."""
    return {"clientHash": PROTOCOL_MD5, "clientProtocol": client_protocol, "serverHash": server_hash, "meta": {}}


def encode_handshake(handshake: dict[str, Any]) -> bytes:
    fo = io.BytesIO()
    write(fo, HANDSHAKE_RESPONSE_SCHEMA, handshake)
    return fo.getvalue()


def encode_response(status: str | None = None, error: str | None = None,
                    handshake: dict[str, Any] | None = None) -> bytes:
    """A response: optional handshake, empty metadata, error flag, Status symbol or error string."""
    fo = io.BytesIO()
    if handshake is not None:
        write(fo, HANDSHAKE_RESPONSE_SCHEMA, handshake)
    fo.write(b"\x00")  # empty metadata map
    if error is not None:
        fo.write(b"\x01")
        write(fo, ERROR_SCHEMA, error)
    else:
        fo.write(b"\x00")
        fo.write(bytes([2 * STATUS_SYMBOLS.index(status or "OK")]))
    return fo.getvalue()
