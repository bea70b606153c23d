"""Java .properties files through jproperties, keeping every key's line number.

Files are read as UTF-8 (falling back to ISO-8859-1, Java's own default, when a file is not valid
UTF-8).  Duplicate keys follow Java: the last one wins, and a warning names both lines.
Substitution, applied to values after loading, follows Flume 1.11's property resolver:
``${env:NAME}``, ``${sys:name}`` (from -D options), ``${other.key}`` and, as Flume's env lookup does
with EnvVarResolverProperties, a bare ``${NAME}`` falling back to the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import jproperties

from flumepy.core.errors import ConfigError, Problem


@dataclass
class PropertiesFile:
    """Keys in file order with values and the line each key (last occurrence) starts on."""

    path: str
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, key: str) -> int:
        return self.lines.get(key, 0)


class _LineProperties(jproperties.Properties):  # type: ignore[misc]
    """jproperties' parser, recording the starting line of every key/value pair."""

    def __init__(self) -> None:
        super().__init__(process_escapes_in_values=True)
        self.occurrences: list[tuple[str, str, int]] = []

    def _parse_logical_line(self) -> bool:
        try:
            self._skip_whitespace()
            c = self._peek()
        except EOFError:
            return False
        if c in "!#":
            try:
                self._parse_comment()
            except EOFError:
                return False
            return True
        line = self._line_number
        try:
            key = self._parse_key()
            value = self._parse_value()
        except EOFError:
            return False
        if key not in self._properties:
            self._key_order.append(key)
        self._properties[key] = value
        self._next_metadata: dict[str, str] = {}
        self.occurrences.append((key, value, line))
        return True


def parse_properties(text: str, path: str = "<string>") -> PropertiesFile:
    """Parse properties text; a syntax error becomes a ConfigError naming file and line."""
    p = _LineProperties()
    try:
        p.load(text)
    except jproperties.ParseError as e:
        msg = e.message
        if not msg or "base 16" in msg:  # jproperties passes on int()'s or EOFError's text
            msg = "malformed \\uXXXX escape (expected four hexadecimal digits)"
        raise ConfigError(Problem("error", f"cannot parse properties: {msg}", "", path, e.line_number)) from None
    out = PropertiesFile(path)
    for key, value, line in p.occurrences:
        value = value.strip()  # Flume trims keys and values
        if key in out.values:
            out.problems.append(Problem(
                "warning",
                f"duplicate key: line {line} overrides line {out.lines[key]} "
                f"({out.values[key]!r} -> {value!r}); the last one wins",
                key, path, line,
            ))
            del out.values[key]  # keep file order of the winning occurrence
        out.values[key] = value
        out.lines[key] = line
    return out


def load_properties(path: str) -> PropertiesFile:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(Problem("error", f"cannot read configuration file: {e.strerror}", "", path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_properties(text, path)


_VAR = re.compile(r"\$\{([^}{]+)\}")


def substitute(props: PropertiesFile, system: Mapping[str, str] | None = None,
               env: Mapping[str, str] | None = None) -> None:
    """Resolve ``${...}`` references in place; unresolvable ones stay verbatim with a warning."""
    system = system or {}
    env = os.environ if env is None else env
    values = props.values

    def resolve(key: str, value: str, depth: int) -> str:
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("env:"):
                got = env.get(name[4:])
            elif name.startswith("sys:"):
                got = system.get(name[4:])
            elif "[" in name:
                return m.group(0)  # a config filter reference, resolved per agent later
            elif name in values and name != key and depth < 10:
                got = resolve(name, values[name], depth + 1)
            else:
                got = env.get(name, system.get(name))
            if got is None:
                problem = Problem(
                    "warning", f"${{{name}}} is not set (no such environment variable, -D option or key); "
                    "left as is", key, props.path, props.line(key))
                if problem not in props.problems:  # a key referenced by others is resolved again
                    props.problems.append(problem)
                return m.group(0)
            return got

        return _VAR.sub(repl, value)

    for key, value in list(values.items()):
        if "${" in value:
            values[key] = resolve(key, value, 0)
