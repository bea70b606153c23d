"""Component documentation from the one declaration each component has: its docstring and ``PROPS``.

``describe()`` is ``flumepy describe TYPE``; ``components_markdown()`` is docs/components.md, which
``python -m flumepy.docs`` (or ``bin/gen-docs``) regenerates and ``--check`` verifies.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from flumepy.core.component import (
    Channel,
    ChannelSelector,
    EventSerializer,
    Interceptor,
    Sink,
    SinkProcessor,
    Source,
)
from flumepy.core.context import Prop, suggest
from flumepy.deserializers import EventDeserializer
from flumepy.registry import JAVA_CLASSES, KINDS, SINGULAR, Registry, UnknownTypeError

log = logging.getLogger(__name__)

BASES: dict[str, type] = {
    "sources": Source, "channels": Channel, "sinks": Sink, "interceptors": Interceptor,
    "serializers": EventSerializer, "selectors": ChannelSelector, "sinkprocessors": SinkProcessor,
    "deserializers": EventDeserializer,
}
TITLES = {
    "sources": "Sources", "channels": "Channels", "sinks": "Sinks", "interceptors": "Interceptors",
    "serializers": "Event serializers", "selectors": "Channel selectors", "sinkprocessors": "Sink processors",
    "deserializers": "Event deserializers",
}
# Keys the agent itself reads for every component of a kind (not part of any component's PROPS).
FRAMEWORK_KEYS = {
    "sources": "`channels` (required: the channels to write to), `selector.type`, `interceptors`",
    "sinks": "`channel` (required: the one channel to read)",
    "channels": "",
    "interceptors": "`<source>.interceptors.<name>.type`",
    "serializers": "`serializer` on sinks that write files (file_roll, hdfs)",
    "selectors": "`<source>.selector.type`",
    "sinkprocessors": "`<agent>.sinkgroups.<group>.sinks`, `processor.type`",
    "deserializers": "`deserializer` on the spooldir source",
}
WHERE = {
    "sources": "a1.sources.r1.type = {t}",
    "channels": "a1.channels.c1.type = {t}",
    "sinks": "a1.sinks.k1.type = {t}",
    "interceptors": "a1.sources.r1.interceptors.i1.type = {t}",
    "serializers": "a1.sinks.k1.sink.serializer = {t}",
    "selectors": "a1.sources.r1.selector.type = {t}",
    "sinkprocessors": "a1.sinkgroups.g1.processor.type = {t}",
    "deserializers": "a1.sources.r1.deserializer = {t}",
}
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "components.md"


def _kind(kind: str | None) -> list[str]:
    if kind is None:
        return list(KINDS)
    k = kind.strip().lower().replace(" ", "").replace("_", "")
    for name in KINDS:
        if k in (name, name[:-1], SINGULAR[name].replace(" ", "")):
            return [name]
    raise UnknownTypeError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def summary(cls: type) -> str:
    """The first paragraph of the class docstring, else of its module's docstring."""
    doc = cls.__dict__.get("__doc__") or ""
    if not doc.strip():
        doc = sys.modules[cls.__module__].__doc__ or "" if cls.__module__ in sys.modules else ""
    doc = inspect.cleandoc(doc)
    return " ".join(doc.split("\n\n", 1)[0].split())


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _default(p: Prop) -> str:
    if p.prefix:
        return ""
    if p.required:
        return "(required)"
    d = p.default
    if d is None:
        return "–"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, (list, tuple)):
        return " ".join(map(str, d)) or '""'
    if isinstance(d, str) and d == "":
        return '""'
    if hasattr(d, "pattern"):
        return str(d.pattern)
    return str(d)


def _type(p: Prop) -> str:
    if p.prefix:
        return "prefix"
    text = p.describe_type()
    if p.type in ("int", "float") and not p.choices:
        lo, hi = p.min, p.max
        if hi is not None and lo is not None:
            text = f"{p.type} {lo:g}..{hi:g}"
        elif lo is not None and lo not in (0, 1):
            text = f"{p.type} >= {lo:g}"
        elif hi is not None:
            text = f"{p.type} <= {hi:g}"
    return text


def _notes(p: Prop) -> str:
    notes = []
    if p.prefix:
        notes.append(f"keys under {p.key} are passed through")
    if p.deprecated:
        notes.append(f"deprecated: use {p.deprecated}")
    if p.ignored:
        notes.append(f"accepted but ignored: {p.ignored}")
    doc = p.doc.strip()
    if notes:
        doc = (doc + " " if doc else "") + "[" + "; ".join(notes) + "]"
    return doc


def _key(p: Prop) -> str:
    return p.key + "*" if p.prefix else p.key


def _props(cls: type) -> tuple[Prop, ...]:
    return tuple(getattr(cls, "PROPS", ()))


def _java_names(kind: str, alias: str) -> list[str]:
    return sorted(k for k, v in JAVA_CLASSES.get(kind, {}).items() if v == alias.lower())


def _find(registry: Registry, type_name: str, kinds: list[str]) -> tuple[list[tuple[str, type]], list[str]]:
    found: list[tuple[str, type]] = []
    errors: list[str] = []
    for kind in kinds:
        try:
            cls = registry.resolve(kind, type_name)
        except UnknownTypeError as e:
            errors.append(str(e))
            continue
        if issubclass(cls, BASES[kind]) or len(kinds) == 1:
            found.append((kind, cls))
    return found, errors


def describe(registry: Registry, type_name: str, kind: str | None = None) -> str:
    """What ``flumepy describe TYPE`` prints; UnknownTypeError when nothing is called that."""
    kinds = _kind(kind)
    found, errors = _find(registry, type_name, kinds)
    if not found:
        specific = [e for e in errors if not e.startswith("unknown ")]
        if specific:
            raise UnknownTypeError(specific[0])
        flume_only = [SINGULAR[k] for k in kinds if type_name.strip().lower() in JAVA_CLASSES.get(k, {}).values()]
        if flume_only:
            raise UnknownTypeError(f"{type_name} is a Flume {' and '.join(flume_only)} type that flumepy does not "
                                   "provide (yet); see flumepy components for what it has")
        names = sorted({n for k in kinds for n in registry.names(k)})
        guess = suggest(type_name, names)
        hint = f" Did you mean {guess}?" if guess else ""
        where = "" if kind is None else f" {SINGULAR[kinds[0]]}"
        known = "; ".join(f"{k}: {', '.join(registry.names(k))}" for k in kinds if registry.names(k))
        raise UnknownTypeError(f"no{where} component type is called {type_name!r}.{hint} Known types: {known}")
    return "\n\n".join(_describe_one(registry, k, cls, type_name) for k, cls in found)


def _describe_one(registry: Registry, kind: str, cls: type, asked: str) -> str:
    alias = registry.alias_of(kind, cls)
    entry = registry.entries(kind).get(alias.lower()) if alias else None
    what = SINGULAR[kind]
    lines = [f"{alias or asked} ({what})"]
    doc = summary(cls)
    if doc:
        lines.append(doc)
    lines.append("")
    if alias:
        lines.append(f"type:   {alias}")
        java = _java_names(kind, alias)
        if java:
            lines.append(f"flume:  {', '.join(java)}")
    lines.append(f"class:  {_class_path(cls)}")
    lines.append(f"origin: {entry.origin if entry else 'custom class (not registered)'}")
    lines.append(f"usage:  {WHERE[kind].format(t=alias or _class_path(cls))}")
    if FRAMEWORK_KEYS.get(kind):
        lines.append(f"also:   {FRAMEWORK_KEYS[kind]}")
    props = _props(cls)
    lines.append("")
    if not props:
        lines.append("This component reads no keys of its own.")
        return "\n".join(lines)
    rows = [("key", "type", "default", "description")]
    rows += [(_key(p), _type(p), _default(p), _notes(p)) for p in props]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        lines.append(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}".rstrip())
    return "\n".join(lines)


# -- docs/components.md ---------------------------------------------------------------------------
def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def builtin_entries(registry: Registry, kind: str) -> list[tuple[str, type]]:
    """(alias, class) of the components flumepy itself ships, in alias order; unloadable ones skipped."""
    out = []
    for name in registry.names(kind):
        entry = registry.entries(kind)[name.lower()]
        if entry.origin.split(" ", 1)[0].lower() != "flumepy":
            continue
        try:
            out.append((entry.name, entry.load()))
        except Exception as e:  # a declared built-in whose module is missing or broken
            log.warning("%s %s could not be loaded, left out of the docs: %s", SINGULAR[kind], name, e)
    return out


def components_markdown(registry: Registry) -> str:
    out = [
        "# flumepy components",
        "",
        "<!-- Generated by `python -m flumepy.docs` (bin/gen-docs) from each component's docstring and",
        "     PROPS declaration; do not edit by hand. tests/test_docs.py checks it is current. -->",
        "",
        "Every key below is read from `<agent>.<section>.<name>.<key>`. `flumepy describe TYPE` prints the",
        "same table for one type.",
        "",
    ]
    for kind in KINDS:
        entries = builtin_entries(registry, kind)
        if not entries:
            continue
        out += [f"## {TITLES[kind]}", ""]
        if FRAMEWORK_KEYS.get(kind):
            out += [f"Keys read by the agent for every {SINGULAR[kind]}: {FRAMEWORK_KEYS[kind]}.", ""]
        for alias, cls in entries:
            out += [f"### {alias}", ""]
            doc = summary(cls)
            if doc:
                out += [doc, ""]
            out.append(f"- Config: `{WHERE[kind].format(t=alias)}`")
            java = _java_names(kind, alias)
            if java:
                out.append(f"- Flume class: {', '.join(f'`{j}`' for j in java)}")
            out += [f"- Python class: `{_class_path(cls)}`", ""]
            props = _props(cls)
            if not props:
                out += ["No keys of its own.", ""]
                continue
            out += ["| key | type | default | description |", "|---|---|---|---|"]
            for p in props:
                out.append(f"| `{_md(_key(p))}` | {_md(_type(p))} | {_md(_default(p))} | {_md(_notes(p))} |")
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flumepy.docs", description="Regenerate docs/components.md.")
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="file to write")
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = ap.parse_args(argv)
    text = components_markdown(Registry.from_entry_points())
    current = args.output.read_text() if args.output.exists() else None
    if args.check:
        if current != text:
            sys.stderr.write(f"{args.output} is out of date; run python -m flumepy.docs\n")
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        sys.stdout.write(f"wrote {args.output}\n")
    else:
        sys.stdout.write(f"{args.output} is up to date\n")
    return 0


__all__ = ["describe", "components_markdown", "summary", "main"]

if __name__ == "__main__":
    sys.exit(main())
