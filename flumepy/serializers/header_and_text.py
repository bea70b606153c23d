"""Serializer ``header_and_text`` (Flume's HeaderAndBodyTextEventSerializer).

Each event is written as its headers in Java ``Map.toString`` form, a space, the body and ``\\n``::

    {host=web1, level=INFO} the body
    {} a body without headers

Keys: ``appendNewline`` (bool, true).  Headers are printed without escaping, in the event's header
order (Flume prints HashMap order, which Java does not define), UTF-8 encoded (Flume uses the
platform charset, UTF-8 on every usual platform).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO

from flumepy.core.component import SerializerWriter
from flumepy.core.event import Event
from flumepy.serializers.text import TextSerializer


def java_map_string(headers: Mapping[str, str]) -> str:
    """``{k1=v1, k2=v2}`` as java.util.AbstractMap.toString prints it; ``{}`` when empty."""
    if not headers:
        return "{}"
    return "{" + ", ".join(f"{k}={v}" for k, v in headers.items()) + "}"


class HeaderAndTextWriter(SerializerWriter):
    __slots__ = ("_stream", "_end")

    def __init__(self, stream: IO[bytes], newline: bool) -> None:
        self._stream = stream
        self._end = b"\n" if newline else b""

    def write_batch(self, events: Sequence[Event]) -> None:
        if not events:
            return
        parts: list[bytes] = []
        end = self._end
        for e in events:
            parts.append((java_map_string(e.headers) + " ").encode("utf-8"))
            parts.append(e.body)
            if end:
                parts.append(end)
        self._stream.write(b"".join(parts))


class HeaderAndTextSerializer(TextSerializer):
    WRITER = HeaderAndTextWriter

    def __init__(self, name: str = "header_and_text") -> None:
        super().__init__(name)
