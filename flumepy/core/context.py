"""Typed component settings: declared once as ``Prop``s, read from a ``Context``.

A Context is Flume's flat string map for one component (keys relative to the component, e.g.
``capacity`` for ``a1.channels.c1.capacity``) that remembers each key's full name, file and line, so
every error can say exactly where it comes from::

    a1.properties:12: a1.channels.c1.capacity: 'ten' is not valid: expected a positive integer
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flumepy.core.errors import ConfigError, Problem

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("expected an integer") from None


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError("expected true or false")


def _float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError("expected a number") from None


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as e:
        raise ValueError(f"not a valid regular expression ({e})") from None


def _charset(text: str) -> str:
    import codecs

    try:
        return codecs.lookup(text.strip()).name
    except LookupError:
        raise ValueError("unknown character set") from None


PARSERS: dict[str, Callable[[str], Any]] = {
    "string": lambda s: s,
    "int": _int,
    "bool": _bool,
    "float": _float,
    "list": lambda s: s.split(),  # whitespace-separated, as Flume splits name lists
    "csv": lambda s: [p.strip() for p in s.split(",") if p.strip()],
    "regex": _regex,
    "charset": _charset,
}


@dataclass(frozen=True)
class Prop:
    """One configuration key a component reads: name, type, default and a line of documentation.

    ``type`` is one of PARSERS' names.  ``min``/``max`` bound numbers, ``choices`` limit strings
    (compared case-insensitively, returned in the declared spelling).  ``prefix=True`` declares a
    family of keys (``kafka.consumer.``) passed through as a sub-context.  ``deprecated`` names the key
    that replaces this one.  ``ignored`` marks a Flume key that flumepy accepts but does not implement
    (it gets a warning saying so).
    """

    key: str
    type: str = "string"
    default: Any = None
    doc: str = ""
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    prefix: bool = False
    deprecated: str = ""
    ignored: str = ""

    def describe_type(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        if self.type == "int" and self.min is not None:
            if self.min == 1:
                return "positive integer"
            if self.min == 0:
                return "integer >= 0"
        return self.type

    def convert(self, text: str) -> Any:
        if self.choices:
            for choice in self.choices:
                if text.strip().lower() == choice.lower():
                    return choice
            raise ValueError(f"expected one of: {', '.join(self.choices)}")
        try:
            value = PARSERS[self.type](text)
        except ValueError:
            if self.type in ("int", "float") and (self.min is not None or self.max is not None):
                raise ValueError(self._range_message()) from None
            raise
        if self.min is not None and value < self.min:
            raise ValueError(self._range_message())
        if self.max is not None and value > self.max:
            raise ValueError(self._range_message())
        return value

    def _range_message(self) -> str:
        kind = "an integer" if self.type == "int" else "a number"
        if self.type == "int" and self.min == 1 and self.max is None:
            return "expected a positive integer"
        if self.max is None:
            return f"expected {kind} >= {self.min:g}"
        if self.min is None:
            return f"expected {kind} <= {self.max:g}"
        return f"expected {kind} between {self.min:g} and {self.max:g}"


def port(key: str, default: int | None = None, doc: str = "Port to listen on.", required: bool = True) -> Prop:
    return Prop(key, "int", default, doc, required=required and default is None, min=0, max=65535)


class Context:
    """Settings of one component: values, with full key names and line numbers for messages."""

    __slots__ = ("_values", "_lines", "prefix", "file", "problems")

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        lines: Mapping[str, int] | None = None,
        prefix: str = "",
        file: str = "",
    ) -> None:
        self._values = dict(values or {})
        self._lines = dict(lines or {})
        self.prefix = prefix
        self.file = file
        self.problems: list[Problem] = []  # warnings collected while parsing

    # -- plain access --------------------------------------------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def keys(self) -> list[str]:
        return list(self._values)

    def items(self) -> list[tuple[str, str]]:
        return list(self._values.items())

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)

    def line(self, key: str) -> int:
        """The key's line; for a missing key, the component's first line (where to add it)."""
        got = self._lines.get(key)
        if got is None:
            return min(self._lines.values(), default=0)
        return got

    def full_key(self, key: str) -> str:
        return self.prefix + key

    def sub(self, prefix: str) -> Context:
        """Keys under ``prefix`` with the prefix removed (Flume's getSubProperties)."""
        n = len(prefix)
        vals = {k[n:]: v for k, v in self._values.items() if k.startswith(prefix)}
        lines = {k[n:]: ln for k, ln in self._lines.items() if k.startswith(prefix)}
        return Context(vals, lines, self.prefix + prefix, self.file)

    def with_values(self, extra: Mapping[str, str]) -> Context:
        vals = dict(self._values)
        vals.update(extra)
        return Context(vals, self._lines, self.prefix, self.file)

    # -- problems ------------------------------------------------------------------------------
    def problem(self, key: str, message: str, level: str = "error") -> Problem:
        return Problem(level, message, self.full_key(key), self.file, self.line(key))

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.problem(key, message))

    def warn(self, key: str, message: str) -> None:
        self.problems.append(self.problem(key, message, "warning"))

    # -- typed access ----------------------------------------------------------------------------
    def value(self, prop: Prop) -> Any:
        """One declared key, converted; raises ConfigError naming key, value, line and expectation."""
        raw = self._values.get(prop.key)
        if raw is None or (raw.strip() == "" and prop.type != "string"):
            if prop.required:
                raise self.error(prop.key, f"is required ({prop.doc.rstrip('.') or prop.describe_type()})")
            return prop.default
        try:
            return prop.convert(raw)
        except ValueError as e:
            raise self.error(prop.key, f"{raw!r} is not valid: {e}") from None

    def parse(self, props: Sequence[Prop]) -> dict[str, Any]:
        """Every declared key converted; all bad values reported together in one ConfigError."""
        out: dict[str, Any] = {}
        problems: list[Problem] = []
        for prop in props:
            if prop.prefix:
                out[prop.key] = self.sub(prop.key)
                continue
            try:
                out[prop.key] = self.value(prop)
            except ConfigError as e:
                problems.extend(e.problems)
                continue
            if prop.key in self._values and prop.ignored:
                self.warn(prop.key, f"accepted but not implemented by flumepy: {prop.ignored}")
        if problems:
            raise ConfigError(problems)
        # Deprecated keys: take the old key's value when the new one is unset.
        for prop in props:
            if prop.deprecated and prop.key in self._values:
                self.warn(prop.key, f"is deprecated; use {prop.deprecated} instead")
                new = next((p for p in props if p.key == prop.deprecated), None)
                if new is not None and prop.deprecated not in self._values:
                    out[prop.deprecated] = out[prop.key]
        return out

    def get_int(self, key: str, default: int | None = None, min: int | None = None) -> int | None:
        return self.value(Prop(key, "int", default, min=min))  # type: ignore[no-any-return]

    def get_bool(self, key: str, default: bool = False) -> bool:
        return self.value(Prop(key, "bool", default))  # type: ignore[no-any-return]


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``word``, for 'did you mean' hints; None when nothing is close."""
    cands = list(candidates)
    low = {c.lower(): c for c in cands}
    if word.lower() in low:
        return low[word.lower()]
    # A key given without its family prefix: rollInterval -> hdfs.rollInterval.
    tails = [c for c in cands if c.lower().endswith("." + word.lower())]
    if len(tails) == 1:
        return tails[0]
    close = difflib.get_close_matches(word.lower(), list(low), n=1, cutoff=0.75)
    if close:
        return low[close[0]]
    # Short names (agent a1 typed as al, channel c1 as cl): one edit away, and only one candidate.
    near = [c for c in low if _one_edit(word.lower(), c)]
    return low[near[0]] if len(near) == 1 else None


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by exactly one substitution, insertion, deletion or transposition."""
    if a == b or abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1:] == a for i in range(len(b)))


def unknown_key_problems(
    ctx: Context, props: Sequence[Prop], extra_known: Iterable[str] = (), extra_prefixes: Iterable[str] = ()
) -> list[Problem]:
    """Warnings for keys the component does not read, each with a did-you-mean hint where one fits."""
    exact = {p.key for p in props if not p.prefix} | set(extra_known)
    prefixes = tuple(p.key for p in props if p.prefix) + tuple(extra_prefixes)
    out = []
    for key in ctx.keys():
        if key in exact or (prefixes and key.startswith(prefixes)):
            continue
        guess = suggest(key, exact | {p.rstrip(".") for p in prefixes})
        hint = f"; did you mean {guess}?" if guess else ""
        out.append(ctx.problem(key, f"unknown key, ignored{hint}", "warning"))
    return out
