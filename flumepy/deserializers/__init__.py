"""Event deserializers (entry-point group ``flumepy.deserializers``): LINE, BLOB, AVRO.

The spooling-directory source turns each file into events with one of these.  A deserializer is
configured once (keys under ``deserializer.``) and opened per file: :meth:`EventDeserializer.open`
returns a :class:`DeserializerReader` positioned at a byte offset, whose :attr:`~DeserializerReader.offset`
after each ``read`` is where a restart resumes (it is stored in the tracker after each commit).
"""

from __future__ import annotations

from typing import IO

from flumepy.core.component import Component
from flumepy.core.context import Context, unknown_key_problems
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.registry import Registry, UnknownTypeError

__all__ = ["DecodeError", "DeserializerReader", "EventDeserializer", "build_deserializer"]

# decodeErrorPolicy -> Python codec error handler
ERROR_HANDLERS = {"FAIL": "strict", "REPLACE": "replace", "IGNORE": "ignore"}


class DecodeError(ValueError):
    """Input that is not valid in the input charset, with decodeErrorPolicy FAIL."""


class DeserializerReader:
    """Reads events from one open file."""

    offset: int = 0  # where reading resumes after the events returned so far

    def read(self, n: int) -> list[Event]:
        """Up to ``n`` events; an empty list at the end of the file."""
        raise NotImplementedError

    def close(self) -> None:
        """Release buffers; the file itself is closed by the caller."""


class EventDeserializer(Component):
    """Configure once, then ``open`` each file."""

    KIND = "deserializer"

    def open(self, stream: IO[bytes], offset: int, charset: str, errors: str) -> DeserializerReader:
        """A reader over ``stream`` starting at byte ``offset``.

        ``charset`` and ``errors`` (a codec error handler: strict, replace or ignore) come from the
        source's ``inputCharset`` and ``decodeErrorPolicy``; binary deserializers ignore them.
        """
        raise NotImplementedError


def build_deserializer(ctx: Context, key: str, name: str, default: str = "LINE",
                       registry: Registry | None = None) -> EventDeserializer:
    """The deserializer named by ``ctx[key]`` (or ``default``), configured with the keys under ``key.``."""
    type_name = (ctx.get(key) or "").strip() or default
    reg = registry if registry is not None else Registry.from_entry_points(["deserializers"])
    try:
        cls = reg.resolve("deserializers", type_name)
    except UnknownTypeError as e:
        raise ctx.error(key, str(e)) from None
    if not (isinstance(cls, type) and issubclass(cls, EventDeserializer)):
        raise ctx.error(key, f"{type_name} is not an event deserializer (a subclass of "
                             "flumepy.deserializers.EventDeserializer)")
    deserializer = cls(name)
    sub = ctx.sub(key + ".")
    try:
        deserializer.configure(sub)
    except ConfigError:
        raise
    except Exception as e:
        raise ctx.error(key, f"deserializer {type_name} configuration failed: {type(e).__name__}: {e}") from None
    ctx.problems.extend(unknown_key_problems(sub, getattr(deserializer, "PROPS", ())))
    ctx.problems.extend(sub.problems)
    return deserializer
