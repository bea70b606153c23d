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


def encode_events(events: list[Event]) -> bytes:
    fo = io.BytesIO()
    write(fo, BATCH_SCHEMA, to_avro(events))
    return fo.getvalue()


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
