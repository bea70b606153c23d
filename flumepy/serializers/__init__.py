"""Event serializers (entry-point group ``flumepy.serializers``): text, header_and_text, avro_event.

Sinks that write files (file_roll, hdfs with ``fileType = DataStream``) share them.  A sink reads the
serializer type from one key (``sink.serializer`` for file_roll, ``serializer`` for hdfs) and gives
the serializer the keys under ``<key>.`` as its own context; :func:`build_serializer` does both.
"""

from __future__ import annotations

from flumepy.core.component import EventSerializer
from flumepy.core.context import Context, unknown_key_problems
from flumepy.core.errors import ConfigError
from flumepy.registry import Registry, UnknownTypeError

__all__ = ["build_serializer"]


def build_serializer(ctx: Context, key: str, name: str, default: str = "TEXT",
                     registry: Registry | None = None) -> EventSerializer:
    """The serializer named by ``ctx[key]`` (or ``default``), configured with the keys under ``key.``.

    The type is an alias (``TEXT``, ``header_and_text``, ``avro_event``, case-insensitive), one of
    Flume's ``...$Builder`` class names, or ``package.module:Class``.  Without a ``registry`` the
    ``flumepy.serializers`` entry points are read here.  Raises ConfigError naming ``key`` (or the
    serializer's own key) on a bad value; warnings about unknown serializer keys go to
    ``ctx.problems``.
    """
    type_name = (ctx.get(key) or "").strip() or default
    reg = registry if registry is not None else Registry.from_entry_points(["serializers"])
    try:
        cls = reg.resolve("serializers", type_name)
    except UnknownTypeError as e:
        raise ctx.error(key, str(e)) from None
    if not (isinstance(cls, type) and issubclass(cls, EventSerializer)):
        raise ctx.error(key, f"{type_name} is not an event serializer (a subclass of "
                             "flumepy.core.component.EventSerializer)")
    try:
        serializer = cls(name)
    except Exception as e:
        raise ctx.error(key, f"{type_name} could not be created: {e}") from None
    sub = ctx.sub(key + ".")
    try:
        serializer.configure(sub)
    except ConfigError:
        raise
    except Exception as e:
        message = f"serializer {type_name} configuration failed: {type(e).__name__}: {e}"
        raise ctx.error(key, message) from None
    ctx.problems.extend(unknown_key_problems(sub, getattr(serializer, "PROPS", ())))
    ctx.problems.extend(sub.problems)
    return serializer
