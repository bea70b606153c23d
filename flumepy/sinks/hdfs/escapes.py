"""Flume's path escapes (``BucketPath``) for ``hdfs.path`` and ``hdfs.filePrefix``.

``%{header}`` is a header's value ("" when missing); ``%[localhost]``, ``%[IP]``, ``%[FQDN]`` name
this host; ``%t`` is epoch millis; the other ``%x`` are date/time fields of the event's timestamp in
``hdfs.timeZone`` (the ``timestamp`` header, or the sink's clock with ``useLocalTimeStamp``):

    %a Mon  %A Monday  %b Jan  %B January  %c Mon Jan 5 13:04:05 2024  %d 05  %e 5  %D 01/05/24
    %H 13  %k 13  %I 01  %l 1  %j 005  %m 01  %n 1  %M 04  %p PM  %s secs  %S 05  %y 24  %Y 2024
    %z +0100  %% %

A template is compiled once (:func:`compile_template`); an unknown escape is a configuration error.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["Template", "compile_template", "round_down", "HostInfo", "TIME_ESCAPES"]

_TOKEN = re.compile(r"%\{([\w.\-]+)\}|%\[(\w+)\]|%(.)", re.S)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _z(d: datetime) -> str:
    off = d.utcoffset() or timedelta(0)
    mins = int(off.total_seconds()) // 60
    sign = "+" if mins >= 0 else "-"
    mins = abs(mins)
    return f"{sign}{mins // 60:02d}{mins % 60:02d}"


def _h12(d: datetime) -> int:
    return d.hour % 12 or 12


TIME_ESCAPES: dict[str, Callable[[datetime], str]] = {
    "a": lambda d: _DAYS[d.weekday()][:3],
    "A": lambda d: _DAYS[d.weekday()],
    "b": lambda d: _MONTHS[d.month - 1][:3],
    "B": lambda d: _MONTHS[d.month - 1],
    "c": lambda d: f"{_DAYS[d.weekday()][:3]} {_MONTHS[d.month - 1][:3]} {d.day} {d:%H:%M:%S} {d.year}",
    "d": lambda d: f"{d.day:02d}",
    "e": lambda d: str(d.day),
    "D": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    "H": lambda d: f"{d.hour:02d}",
    "I": lambda d: f"{_h12(d):02d}",
    "j": lambda d: f"{d.timetuple().tm_yday:03d}",
    "k": lambda d: str(d.hour),
    "l": lambda d: str(_h12(d)),
    "m": lambda d: f"{d.month:02d}",
    "n": lambda d: str(d.month),
    "M": lambda d: f"{d.minute:02d}",
    "p": lambda d: "AM" if d.hour < 12 else "PM",
    "s": lambda d: str(int(d.timestamp())),
    "S": lambda d: f"{d.second:02d}",
    "y": lambda d: f"{d.year % 100:02d}",
    "Y": lambda d: str(d.year),
    "z": _z,
}
_HOST_ESCAPES = {"localhost", "ip", "fqdn"}


class HostInfo:
    """This host's name, IP and canonical name; looked up on first use (never in configure)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, what: str) -> str:
        what = what.lower()
        if what not in self._values:
            name = socket.gethostname()
            if what == "localhost":
                value = name
            elif what == "ip":
                try:
                    value = socket.gethostbyname(name)
                except OSError:
                    value = "127.0.0.1"
            else:
                value = socket.getfqdn(name)
            self._values[what] = value
        return self._values[what]


@dataclass(frozen=True)
class Template:
    """A compiled template: literal strings and escapes, rendered per event."""

    text: str
    parts: tuple[tuple[str, str], ...]  # (kind, value): lit | hdr | host | time | millis
    needs_time: bool

    @property
    def is_constant(self) -> bool:
        return all(kind == "lit" for kind, _ in self.parts)

    def literal_prefix(self) -> str:
        """The text before the first escape."""
        out = []
        for kind, value in self.parts:
            if kind != "lit":
                break
            out.append(value)
        return "".join(out)

    def render(self, headers: Mapping[str, str], ts_ms: int | None, tz: tzinfo | None,
               host: HostInfo) -> str:
        if self.is_constant:
            return self.parts[0][1] if self.parts else ""
        d: datetime | None = None
        out = []
        for kind, value in self.parts:
            if kind == "lit":
                out.append(value)
            elif kind == "hdr":
                out.append(headers.get(value, ""))
            elif kind == "host":
                out.append(host.get(value))
            else:
                assert ts_ms is not None
                if kind == "millis":
                    out.append(str(ts_ms))
                else:
                    if d is None:
                        d = datetime.fromtimestamp(ts_ms / 1000.0, tz or UTC)
                        if tz is None:
                            d = d.astimezone()  # the machine's local zone
                    out.append(TIME_ESCAPES[value](d))
        return "".join(out)


def compile_template(text: str) -> Template:
    """Split ``text`` into literals and escapes; ValueError names an unsupported escape."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(("lit", text[pos:m.start()]))
        pos = m.end()
        header, host, ch = m.group(1), m.group(2), m.group(3)
        if header is not None:
            parts.append(("hdr", header))
        elif host is not None:
            if host.lower() not in _HOST_ESCAPES:
                raise ValueError(f"unsupported escape %[{host}]; expected %[localhost], %[IP] or %[FQDN]")
            parts.append(("host", host))
        elif ch == "%":
            parts.append(("lit", "%"))
        elif ch == "t":
            parts.append(("millis", ""))
        elif ch in TIME_ESCAPES:
            parts.append(("time", ch))
        else:
            raise ValueError(f"unsupported escape %{ch}")
    if pos < len(text):
        parts.append(("lit", text[pos:]))
    merged: list[tuple[str, str]] = []
    for kind, value in parts:
        if kind == "lit" and merged and merged[-1][0] == "lit":
            merged[-1] = ("lit", merged[-1][1] + value)
        else:
            merged.append((kind, value))
    needs_time = any(kind in ("time", "millis") for kind, _ in merged)
    return Template(text, tuple(merged), needs_time)


def round_down(ts_ms: int, unit: str, value: int, tz: tzinfo | None) -> int:
    """Round a timestamp down to a multiple of ``value`` seconds/minutes/hours (Flume's roundDown)."""
    if unit == "second":
        step = value * 1000
        return ts_ms - ts_ms % step
    d = datetime.fromtimestamp(ts_ms / 1000.0, tz or UTC)
    if tz is None:
        d = d.astimezone()
    if unit == "minute":
        d = d.replace(minute=d.minute - d.minute % value, second=0, microsecond=0)
    else:  # hour
        d = d.replace(hour=d.hour - d.hour % value, minute=0, second=0, microsecond=0)
    return int(d.timestamp() * 1000)
