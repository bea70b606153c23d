"""Serializer ``text`` (Flume's BodyTextEventSerializer): each event's body, then ``\\n``.

Keys (relative to the serializer's context, e.g. ``sink.serializer.appendNewline``):

* ``appendNewline`` (bool, true): write ``0x0A`` after each body.

Headers are not written.  Bytes of a batch are joined and written with one ``write()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, ClassVar

from flumepy.core.component import EventSerializer, SerializerWriter
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event, bodies_of


class TextWriter(SerializerWriter):
    __slots__ = ("_stream", "_newline")

    def __init__(self, stream: IO[bytes], newline: bool) -> None:
        self._stream = stream
        self._newline = newline

    def write_batch(self, events: Sequence[Event]) -> None:
        if not events:
            return
        bodies = bodies_of(events)
        if self._newline:
            self._stream.write(b"\n".join(bodies) + b"\n")
        else:
            self._stream.write(b"".join(bodies))


class TextSerializer(EventSerializer):
    PROPS = (Prop("appendNewline", "bool", True, "Write a newline (0x0A) after each event body."),)
    WRITER: ClassVar[type[SerializerWriter]] = TextWriter

    def __init__(self, name: str = "text") -> None:
        super().__init__(name)
        self.append_newline = True

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.append_newline = self.settings["appendNewline"]

    def open(self, stream: IO[bytes], reopen: bool = False) -> SerializerWriter:
        return self.WRITER(stream, self.append_newline)  # type: ignore[call-arg]
