"""Avro's Netty framing (``NettyTransportCodec`` in avro-ipc): one RPC message per data pack.

A pack is ``serial`` (4-byte big-endian int; a response echoes its request's), ``count`` (4-byte
big-endian int, number of buffers), then ``count`` times a 4-byte big-endian length and that many
bytes.  The buffers joined are one Avro IPC request or response.  Java's client cuts a message into
8 KiB buffers, so a batch of events spans many of them.

The decoder is incremental and bounded: it refuses, before buffering anything, a pack whose buffer
count or total size exceed the limits, and a negative length or a zero buffer count.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from flumepy.avro.protocol import ProtocolError

_HEADER = struct.Struct(">ii")
_INT = struct.Struct(">i")

DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one RPC message (all its buffers)
DEFAULT_MAX_BUFFERS = 1 << 20  # buffers in one pack
CHUNK = 8192  # buffer size Java's ByteBufferOutputStream uses


class FramingError(ProtocolError):
    """The byte stream is not a valid sequence of Netty data packs."""


def encode_frame(serial: int, payload: bytes, chunk: int = CHUNK) -> bytes:
    """One data pack holding ``payload`` split into buffers of at most ``chunk`` bytes."""
    if not payload:
        parts: Sequence[bytes] = [b""]
    elif len(payload) <= chunk:
        parts = [payload]
    else:
        parts = [payload[i:i + chunk] for i in range(0, len(payload), chunk)]
    out = [_HEADER.pack(serial, len(parts))]
    for p in parts:
        out.append(_INT.pack(len(p)))
        out.append(p)
    return b"".join(out)


class FrameDecoder:
    """Feed bytes as they arrive; get back complete ``(serial, message bytes)`` packs."""

    __slots__ = ("max_message", "max_buffers", "_buf", "_serial", "_remaining", "_parts", "_size")

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE, max_buffers: int = DEFAULT_MAX_BUFFERS) -> None:
        self.max_message = max_message
        self.max_buffers = max_buffers
        self._buf = bytearray()
        self._serial = 0
        self._remaining = -1  # buffers still expected in the current pack; -1 = expecting a header
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def pending(self) -> int:
        """Bytes held for an incomplete pack (bounded by max_message plus a few headers)."""
        return len(self._buf) + self._size

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add ``data``; return the packs completed by it. Raises FramingError on invalid input."""
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        n = len(buf)
        while True:
            if self._remaining < 0:
                if n - pos < 8:
                    break
                serial, count = _HEADER.unpack_from(buf, pos)
                if count <= 0:
                    raise FramingError(f"invalid frame: buffer count {count} (expected at least 1)")
                if count > self.max_buffers:
                    raise FramingError(f"frame too large: {count} buffers (limit {self.max_buffers})")
                pos += 8
                self._serial = serial
                self._remaining = count
                self._parts = []
                self._size = 0
            if n - pos < 4:
                break
            (length,) = _INT.unpack_from(buf, pos)
            if length < 0:
                raise FramingError(f"invalid frame: negative buffer length {length}")
            if self._size + length > self.max_message:
                raise FramingError(f"frame too large: at least {self._size + length} bytes "
                                   f"(limit {self.max_message})")
            if n - pos - 4 < length:
                break
            pos += 4
            self._parts.append(bytes(buf[pos:pos + length]))
            pos += length
            self._size += length
            self._remaining -= 1
            if self._remaining == 0:
                parts = self._parts
                out.append((self._serial, parts[0] if len(parts) == 1 else b"".join(parts)))
                self._parts = []
                self._size = 0
                self._remaining = -1
        if pos:
            del buf[:pos]
        return out
