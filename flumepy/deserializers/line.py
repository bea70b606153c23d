"""Deserializer ``LINE``: Flume's LineDeserializer — one event per line of text.

Keys: ``maxLineLength`` (2048 characters; a longer line becomes several events, as in Flume) and
``outputCharset`` (UTF-8, the charset of the event bodies).  Lines end at ``\\n`` only; the ``\\n``
is dropped and a ``\\r`` before it stays in the body.  A last line without ``\\n`` is an event too.
The file is read in large chunks and split in bulk; when the input and output charsets agree and the
text is valid, bodies are the file's bytes untouched.
"""

from __future__ import annotations

import codecs
from typing import IO

from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.deserializers import DecodeError, DeserializerReader, EventDeserializer

READ_SIZE = 1 << 20


class LineDeserializer(EventDeserializer):
    """Splits text files into lines."""

    PROPS = (
        Prop("maxLineLength", "int", 2048, "Characters per event; longer lines are split.", min=1),
        Prop("outputCharset", "charset", "utf-8", "Character set of the event bodies."),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.max_len = self.settings["maxLineLength"]
        self.out_cs = codecs.lookup(self.settings["outputCharset"]).name

    def open(self, stream: IO[bytes], offset: int, charset: str, errors: str) -> DeserializerReader:
        cs = codecs.lookup(charset).name
        if "\n".encode(cs) != b"\n":
            raise ValueError(f"input charset {charset} does not spell a newline as one byte; the LINE "
                             "deserializer reads ASCII-compatible charsets (UTF-8, ISO-8859-x, GBK, ...)")
        return LineReader(stream, offset, cs, self.out_cs, errors, self.max_len)


class LineReader(DeserializerReader):
    def __init__(self, stream: IO[bytes], offset: int, in_cs: str, out_cs: str, errors: str, max_len: int) -> None:
        self.f = stream
        self.f.seek(offset)
        self.offset = offset
        self.in_cs, self.out_cs, self.errors, self.max_len = in_cs, out_cs, errors, max_len
        self.same = in_cs == out_cs
        self.lines: list[bytes] = []
        self.idx = 0
        self.tail = b""
        self.eof = False
        self.last_unterminated = False  # the final buffered line had no "\n"
        self.carry: list[bytes] = []  # chunks of a split line not yet returned
        self._carry_end = offset

    def _fill(self) -> None:
        data = self.f.read(READ_SIZE)
        if self.idx:
            del self.lines[:self.idx]
            self.idx = 0
        if not data:
            self.eof = True
            if self.tail:
                self.lines.append(self.tail)
                self.tail = b""
                self.last_unterminated = True
            return
        parts = (self.tail + data if self.tail else data).split(b"\n")
        self.tail = parts.pop()
        self.lines.extend(parts)

    def _split(self, t: str, open_end: bool) -> list[str]:
        """Flume's chunks: a line of k * maxLineLength characters ends with an empty event, unless
        it is the file's unterminated last line."""
        mx = self.max_len
        return [t[i:i + mx] for i in range(0, len(t) if open_end else len(t) + 1, mx)]

    def _bodies(self, raw: list[bytes], open_end: bool) -> list[bytes]:
        """Convert raw lines to bodies (decode, split at maxLineLength, encode)."""
        mx = self.max_len
        if self.same and self.errors != "strict":
            joined = b"\n".join(raw)
            try:
                joined.decode(self.in_cs)
                valid = True
            except UnicodeDecodeError:
                valid = False
        else:
            valid = False
        if self.same and (valid or self.errors == "strict"):
            if not valid:
                try:
                    b"\n".join(raw).decode(self.in_cs)
                except UnicodeDecodeError as e:
                    raise DecodeError(f"input is not valid {self.in_cs}: {e}") from None
            if all(len(r) < mx for r in raw):
                return raw
            out: list[bytes] = []
            last = len(raw) - 1
            for k, r in enumerate(raw):
                if len(r) < mx:
                    out.append(r)
                else:
                    chunks = self._split(r.decode(self.in_cs), open_end and k == last)
                    out.extend(c.encode(self.out_cs) for c in chunks)
            return out
        out = []
        last = len(raw) - 1
        for k, r in enumerate(raw):
            try:
                t = r.decode(self.in_cs, self.errors)
            except UnicodeDecodeError as e:
                raise DecodeError(f"input is not valid {self.in_cs}: {e}") from None
            if len(t) < mx:
                out.append(t.encode(self.out_cs, "replace"))
            else:
                out.extend(c.encode(self.out_cs, "replace") for c in self._split(t, open_end and k == last))
        return out

    def read(self, n: int) -> list[Event]:
        if self.carry:
            got, self.carry = self.carry[:n], self.carry[n:]
            if not self.carry:
                self.offset = self._carry_end
            return list(map(Event, got))
        while len(self.lines) - self.idx < n and not self.eof:
            self._fill()
        i = self.idx
        raw = self.lines[i:i + n]
        if not raw:
            return []
        open_end = self.eof and self.last_unterminated and i + len(raw) == len(self.lines)
        bodies = self._bodies(raw, open_end)
        consumed = sum(map(len, raw)) + len(raw) - open_end
        self.idx = i + len(raw)
        if len(bodies) > n:
            # Long lines split into more events than asked for: return the rest on the next reads;
            # the offset moves past these lines only once all their events were returned.
            self.carry = bodies[n:]
            self._carry_end = self.offset + consumed
            return list(map(Event, bodies[:n]))
        self.offset += consumed
        return list(map(Event, bodies))

    def close(self) -> None:
        self.lines, self.tail, self.carry = [], b"", []
