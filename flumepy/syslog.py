"""Syslog parsing shared by the ``syslogtcp``, ``syslogudp`` and ``multiport_syslogtcp`` sources.

Flume 1.11 has two parsers and flumepy keeps both, header for header:

* ``SyslogUtils`` (syslogtcp, syslogudp) -> :class:`SyslogParser`.  A message ``<PRI>...`` is matched
  against an RFC 5424 regex, then an RFC 3164 one.  Headers: ``Facility``, ``Severity`` (always; both
  ``0`` for an invalid message), ``priority`` and ``version`` (lower case, when the regex matched and
  they are non-empty), ``timestamp`` (epoch milliseconds, when parsed), ``host`` (when present) and
  ``flume.syslog.status`` = ``Invalid`` (no ``<digits>`` priority) or ``Incomplete`` (longer than
  ``eventSize``).  The body is the text after the host (``keepFields`` prepends the kept fields);
  with ``keepFields=all``, or when no regex matched, the body is the raw message bytes.
  Timestamps keep Flume's quirks: an RFC 5424 stamp *with* fractional seconds is read in the agent's
  local time zone and its offset is ignored (``SimpleDateFormat("...ss.S")`` parses a prefix);
  fractions are truncated to 3 digits and read as a millisecond count (``.5`` is 5 ms); RFC 3164
  stamps get the current year, moved back a year when more than a month ahead and forward when more
  than eleven months behind; out-of-range fields roll over (lenient Java calendar).  As with Java's
  ``.``, a ``\r`` in the message keeps the regexes from matching; a ``\n`` (possible only inside an
  octet-counted frame) is allowed in the message text.
* ``SyslogParser`` (multiport_syslogtcp) -> :func:`parse_multiport`.  Headers ``Priority``,
  ``Facility``, ``Severity``, ``Version`` (only ``1``), ``timestamp`` (UTC; ``-`` means now; an
  unreadable RFC 3164 stamp gives ``0``) and ``host``; anything unparsable is an ``Invalid`` event
  whose body is the raw line.

No function here does I/O; everything is bounded by the caller's ``eventSize``.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import add

from flumepy.core.event import Event, EventBatch

FACILITY = "Facility"
SEVERITY = "Severity"
PRIORITY = "Priority"
VERSION = "Version"
STATUS = "flume.syslog.status"
INVALID = "Invalid"
INCOMPLETE = "Incomplete"
DEFAULT_EVENT_SIZE = 2500
MIN_EVENT_SIZE = 10
KEEP_ALL = "--all--"
KEEP_FIELDS = ("priority", "version", "timestamp", "hostname")

RFC5424 = re.compile(
    r"(?:<(\d{1,3})>)"  # priority
    r"(?:(\d?)\s?)"  # version
    r"(?:(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[+-]\d{2}:\d{2}|Z)?)|-)"  # stamp
    r"\s"
    r"(?:([\w][\w\d.@\-]*)|-)"  # host
    r"\s"
    r"([^\r\u0085\u2028\u2029]*)", re.A)
RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)"
    r"(?:(\d)?\s?)"
    r"([A-Z][a-z][a-z]\s{1,2}\d{1,2}\s\d{2}:\d{2}:\d{2})"
    r"\s"
    r"([\w][\w\d.@-]*)"
    r"\s([^\r\u0085\u2028\u2029]*)", re.A)
_STAMP5424 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})?$")
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_CACHE_MAX = 1000


def keep_fields(text: str | None) -> frozenset[str]:
    """Flume's ``chooseFieldsToKeep``: none/false -> nothing, all/true -> all, else the names it contains."""
    if text is None:
        return frozenset()
    t = text.strip().lower()
    if t in ("false", "none", ""):
        return frozenset()
    if t in ("true", "all"):
        return frozenset({KEEP_ALL})
    return frozenset(f for f in KEEP_FIELDS if f in t)


def add_fields_to_body(keep: frozenset[str], body: str, priority: str | None, version: str | None,
                       timestamp: str | None, hostname: str | None) -> str:
    if not keep:
        return body
    if "hostname" in keep:
        body = f"{hostname} {body}"
    if "timestamp" in keep:
        body = f"{timestamp} {body}"
    if "version" in keep and version:
        body = f"{version} {body}"
    if "priority" in keep:
        body = f"<{priority}>{body}"
    return body


def _local_millis(y: int, mo: int, d: int, h: int, mi: int, s: int, ms: int) -> int | None:
    """Lenient local-time fields -> epoch ms (fields out of range roll over, as Java's lenient calendar)."""
    try:
        return int(time.mktime((y, mo, d, h, mi, s, 0, 0, -1))) * 1000 + ms
    except (OverflowError, ValueError):
        return None


def _utc_millis(y: int, mo: int, d: int, h: int, mi: int, s: int, ms: int) -> int:
    """Lenient UTC fields -> epoch ms, proleptic Gregorian."""
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    days = _days_from_civil(y, mo, 1) + d - 1
    return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _add_months(y: int, mo: int, d: int, n: int) -> tuple[int, int, int]:
    """Java Calendar.add(MONTH, n): the day is clamped to the new month's length."""
    total = y * 12 + (mo - 1) + n
    y2, m2 = divmod(total, 12)
    m2 += 1
    if 1 <= y2 <= 9999:
        d = min(d, calendar.monthrange(y2, m2)[1])
    return y2, m2, d


def _stamp5424(stamp: str) -> int | None:
    """SyslogUtils' RFC 5424 timestamp -> epoch ms (Flume's formats and their quirks)."""
    m = _STAMP5424.match(stamp)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    if frac is not None:
        # "yyyy-MM-dd'T'HH:mm:ss.S" parses a prefix: the zone is ignored, local time is used.
        return _local_millis(y, mo, d, h, mi, s, int(frac[:3]))
    if zone is None:
        return _local_millis(y, mo, d, h, mi, s, 0)
    off = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
    return _utc_millis(y, mo, d, h, mi, s, 0) - off * 60_000


def _stamp3164(stamp: str, now_ms: int) -> int | None:
    """SyslogUtils' RFC 3164 stamp ("Oct 11 22:14:15") -> epoch ms in local time with the year window."""
    parts = stamp.replace("  ", " ").split(" ")
    if len(parts) != 3:
        return None
    mon = _MONTHS.get(parts[0].lower())
    if mon is None:
        return None
    hms = parts[2].split(":")
    d, h, mi, s = int(parts[1]), int(hms[0]), int(hms[1]), int(hms[2])
    year = time.gmtime(now_ms // 1000).tm_year
    ts = _local_millis(year, mon, d, h, mi, s, 0)
    if ts is None:
        return None
    # Normalise the lenient fields before the month arithmetic (Calendar does the same).
    lt = time.localtime(ts // 1000)
    y, mo, dd = lt.tm_year, lt.tm_mon, lt.tm_mday
    minus1 = _local_millis(*_add_months(y, mo, dd, -1), lt.tm_hour, lt.tm_min, lt.tm_sec, 0)
    plus11 = _local_millis(*_add_months(y, mo, dd, 11), lt.tm_hour, lt.tm_min, lt.tm_sec, 0)
    if minus1 is None or plus11 is None:
        return ts
    if ts > now_ms and minus1 > now_ms:
        return _local_millis(*_add_months(y, mo, dd, -12), lt.tm_hour, lt.tm_min, lt.tm_sec, 0)
    if ts < now_ms and plus11 < now_ms:
        return _local_millis(*_add_months(y, mo, dd, 12), lt.tm_hour, lt.tm_min, lt.tm_sec, 0)
    return ts


class SyslogParser:
    """Flume's ``SyslogUtils`` message parsing (syslogtcp, syslogudp).  One per source; thread-safe.

    ``clock`` returns epoch milliseconds (injected so the RFC 3164 year window can be tested).
    """

    def __init__(self, keep: frozenset[str] = frozenset(),
                 clock: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.keep = keep
        self.keep_all = KEEP_ALL in keep
        self.clock = clock
        self._cache5424: dict[str, int | None] = {}
        self._cache3164: dict[str, tuple[int, int | None]] = {}

    def event(self, raw: bytes, incomplete: bool = False) -> Event:
        """One message (without its newline) -> Event with Flume's headers."""
        headers: dict[str, str] = {}
        pri = _priority(raw)
        if pri is None:
            headers[FACILITY] = "0"
            headers[SEVERITY] = "0"
            headers[STATUS] = INVALID
            return Event(raw, headers)
        headers[FACILITY] = str(pri // 8)
        headers[SEVERITY] = str(pri % 8)
        text = raw.decode("utf-8", "replace")
        body: bytes = raw
        m = RFC5424.fullmatch(text)
        is5424 = m is not None
        if m is None:
            m = RFC3164.fullmatch(text)
        if m is not None:
            priority, version, stamp, host, msg = m.groups()
            self.add_field_headers(headers, priority, version, stamp, host, is5424)
            if not self.keep_all:
                msg = add_fields_to_body(self.keep, msg, priority, version, stamp, host)
                if msg:
                    body = msg.encode("utf-8")
        if incomplete:
            headers[STATUS] = INCOMPLETE
        return Event(body, headers)

    def add_field_headers(self, headers: dict[str, str], priority: str | None, version: str | None,
                          stamp: str | None, host: str | None, is5424: bool) -> None:
        """Flume's headers for the matched fields of a message (after Facility/Severity)."""
        if priority:
            headers["priority"] = priority
        if version:
            headers["version"] = version
        if stamp is not None:
            ts = self._stamp(stamp, is5424)
            if ts is not None:
                headers["timestamp"] = str(ts)
        if host:
            headers["host"] = host

    def _stamp(self, stamp: str, is5424: bool) -> int | None:
        if is5424:
            c5 = self._cache5424
            if stamp in c5:
                return c5[stamp]
            ts = _stamp5424(stamp)
            if len(c5) >= _CACHE_MAX:
                c5.clear()
            c5[stamp] = ts
            return ts
        now = self.clock()
        c3 = self._cache3164
        hit = c3.get(stamp)
        if hit is not None and abs(hit[0] - now) < 60_000:
            return hit[1]
        ts3 = _stamp3164(stamp, now)
        if len(c3) >= _CACHE_MAX:
            c3.clear()
        c3[stamp] = (now, ts3)
        return ts3


# The head of a plain RFC 3164 line: priority, optional version, stamp, host, each followed by one space.
# With groups (priority digits, version, stamp, host), to parse a head seen for the first time.
_HEAD3164_GROUPS = re.compile(
    rb"<(\d{1,3})>(\d?) ?([A-Z][a-z][a-z]  ?\d{1,2} \d{2}:\d{2}:\d{2}) (\w[\w.@-]*) ", re.A)
# A looser split, cheaper per line: "<", 7-13 characters, " hh:mm:ss ", a run of non-spaces, " ".  Where
# _HEAD3164_GROUPS matches a line, this cuts the same head (the time is the first ":" pattern; both hosts end
# at the first space); where it cuts something _HEAD3164_GROUPS does not fullmatch, BulkParser declines.
_SPLIT3164 = re.compile(rb"\n(<[^\n]{7,13}? \d\d:\d\d:\d\d [^ \n]+ )")


class BulkParser:
    """Fast path of StreamSplitter + :class:`SyslogParser` for blocks of plain RFC 3164 lines.

    ``parse(block)`` takes bytes ending in ``\n`` (a whole number of newline-framed lines) and returns
    their events, or None when any line needs the general path (then nothing was consumed and the
    caller feeds the block to the splitter).  Taken: blocks of ASCII lines without ``\r``, each
    shorter than ``event_size``, each ``<PRI>[V][ ]Mmm [ ]d hh:mm:ss host message`` with single-space
    separators and a non-empty message, in a source without ``keepFields``.  Such a line matches
    ``RFC3164`` (never ``RFC5424``: its stamp starts with a capital letter), is not cut or
    octet-counted by the splitter, and its headers depend only on its head (up to the space after the
    host): the head is parsed once (``_head_headers``, the same headers :meth:`SyslogParser.event`
    gives) and shared as the template of a :class:`LazyEvent` by every line with the same head; the body
    is the message bytes.  Equal events to the general path, by design (a seeded fuzz test checks).
    One instance may serve several threads (the head cache is only ever added to or replaced whole).
    """

    CACHE_MAX = 4096
    CACHE_TTL_MS = 60_000  # the RFC 3164 year window moves with the clock

    def __init__(self, parser: SyslogParser, event_size: int, extra: dict[str, str] | None = None) -> None:
        self.parser = parser
        self.size = max(event_size, MIN_EVENT_SIZE)
        self.extra = extra or {}
        self.enabled = not parser.keep
        self._heads: dict[bytes, dict[str, str]] = {}
        self._since = 0

    def parse(self, block: bytes) -> Sequence[Event] | None:
        if not self.enabled or not block.isascii() or b"\r" in block:
            return None
        # One C call: split the block at each "\n" + head; parts = ["", head1, body1, head2, body2, ...].
        # Every "\n" consumed as a separator <=> every line starts with a head (heads hold no "\n").
        parts = _SPLIT3164.split(b"\n" + block[:-1])
        nlines = len(parts) >> 1
        if nlines != block.count(b"\n") or parts[0]:
            return None
        keys: list[bytes] = parts[1::2]
        bodies: list[bytes] = parts[2::2]
        if not all(bodies):
            return None
        if len(block) >= self.size and max(map(len, keys)) + max(map(len, bodies)) >= self.size \
                and max(map(add, map(len, keys), map(len, bodies))) >= self.size:
            return None
        now = self.parser.clock()
        if now - self._since >= self.CACHE_TTL_MS or len(self._heads) >= self.CACHE_MAX:
            self._heads = {}
            self._since = now
        heads = self._heads
        templates: list[dict[str, str] | None] = list(map(heads.get, keys))
        if not all(templates):  # a template is never empty (Facility, Severity)
            for i, h in enumerate(templates):
                if h is not None:
                    continue
                head = keys[i]
                h = heads.get(head)
                if h is None:
                    h = self._head_headers(head)
                    if h is None:
                        return None
                    heads[head] = h
                templates[i] = h
        # Events share their line's template until something reads their headers (a copy is made then);
        # a sink that writes bodies only never makes them at all.
        return EventBatch(bodies, dict.copy, templates)

    def _head_headers(self, head: bytes) -> dict[str, str] | None:
        """The headers SyslogParser.event gives a line with this head (and extra), or None when the head
        is not a plain RFC 3164 head after all (the loose split cut it)."""
        m = _HEAD3164_GROUPS.fullmatch(head)
        if m is None:
            return None
        priority, version, stamp, host = (g.decode("ascii") for g in m.groups())
        pri = int(priority)
        h = {FACILITY: str(pri // 8), SEVERITY: str(pri % 8)}
        self.parser.add_field_headers(h, priority, version, stamp, host, False)
        h.update(self.extra)
        return h


def _priority(raw: bytes) -> int | None:
    """The value of a leading ``<1-3 digits>``, or None (Flume: the event is Invalid)."""
    if not raw.startswith(b"<"):
        return None
    end = raw.find(b">", 1, 5)
    if end < 2:
        return None
    digits = raw[1:end]
    if not digits.isdigit():
        return None
    return int(digits)


class StreamSplitter:
    """Splits a TCP byte stream into syslog messages, bounded by ``event_size`` bytes.

    Newline framing as Flume's SyslogUtils: a message ends at ``\\n`` (empty lines are skipped); one
    reaching ``event_size`` bytes is cut there and flagged incomplete, the rest becomes the next
    message.  With ``octets`` on, a message that starts with ``LEN SP`` (RFC 6587 octet counting) is
    the next LEN bytes instead (newlines inside are kept); a frame longer than ``event_size`` keeps its
    first ``event_size`` bytes (incomplete) and the rest of the frame is skipped.
    Memory held between calls is at most ``event_size`` bytes.
    """

    MAX_LEN_DIGITS = 10

    def __init__(self, event_size: int, octets: bool = True) -> None:
        self.size = max(event_size, MIN_EVENT_SIZE)
        self.octets = octets
        self.buf = b""
        self.frame_left = 0  # bytes still to read of the current octet-counted frame
        self.frame_buf = b""
        self.skip_left = 0  # bytes of an over-long octet frame still to drop
        self.skipped_frames = 0

    def idle(self) -> bool:
        """True between messages: no octet-counted frame is being read or skipped."""
        return not (self.frame_left or self.skip_left)

    def take_buffer(self) -> bytes:
        """The bytes held for the next ``feed`` (an unterminated message), handed over and forgotten."""
        buf, self.buf = self.buf, b""
        return buf

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """Messages completed by ``data``: (bytes without newline, incomplete?)."""
        out: list[tuple[bytes, bool]] = []
        if self.buf:
            data = self.buf + data
            self.buf = b""
        pos = 0
        n = len(data)
        size = self.size
        while pos < n:
            if self.skip_left:
                take = min(self.skip_left, n - pos)
                self.skip_left -= take
                pos += take
                continue
            if self.frame_left:
                take = min(self.frame_left, n - pos)
                room = size - len(self.frame_buf)
                if room > 0:
                    self.frame_buf += data[pos:pos + min(take, room)]
                self.frame_left -= take
                pos += take
                if self.frame_left == 0:
                    self._end_frame(out)
                continue
            c = data[pos]
            if c == 10:  # "\n" between messages
                pos += 1
                continue
            if self.octets and 49 <= c <= 57:  # "1".."9": maybe an octet count
                sp = data.find(b" ", pos, pos + self.MAX_LEN_DIGITS + 1)
                if sp == -1 and n - pos <= self.MAX_LEN_DIGITS and data[pos:].isdigit():
                    self.buf = data[pos:]  # the count continues in the next read
                    return out
                if sp != -1 and data[pos:sp].isdigit():
                    self.frame_left = int(data[pos:sp])
                    self.frame_buf = b""
                    self.frame_over = self.frame_left > size
                    pos = sp + 1
                    continue
            nl = data.find(b"\n", pos, pos + size)
            if nl != -1:
                out.append((data[pos:nl], False))
                pos = nl + 1
                continue
            if n - pos >= size:
                out.append((data[pos:pos + size], True))
                pos += size
                continue
            self.buf = data[pos:]
            return out
        return out

    def _end_frame(self, out: list[tuple[bytes, bool]]) -> None:
        frame = self.frame_buf
        self.frame_buf = b""
        if self.frame_over:
            self.skipped_frames += 1
            out.append((frame, True))
            return
        if frame.endswith(b"\n"):
            frame = frame[:-1]
        if frame:
            out.append((frame, False))

    def finish(self) -> list[tuple[bytes, bool]]:
        """At end of stream: the unterminated last message, if any."""
        out: list[tuple[bytes, bool]] = []
        if self.frame_buf or self.frame_left:
            self.frame_left = 0
            self.frame_over = True  # the frame was cut short by the close
            self._end_frame(out)
        elif self.buf:
            # Unterminated last message; digits alone too (an octet count with no frame is still data).
            out.append((self.buf, False))
        self.buf = b""
        return out

    frame_over = False


# --------------------------------------------------------------------------------------------------
# Flume's SyslogParser (multiport_syslogtcp)


class ParseError(ValueError):
    """A line SyslogParser cannot read (the event becomes Invalid)."""


@dataclass
class MultiportParser:
    """Flume's ``SyslogParser``: a hand-written RFC 3164 / 5424 reader used by multiport_syslogtcp."""

    keep: frozenset[str] = frozenset()
    clock: Callable[[], int] = lambda: int(time.time() * 1000)

    def __post_init__(self) -> None:
        self._cache: dict[str, int] = {}

    def parse(self, msg: str) -> tuple[dict[str, str], str]:
        """-> (headers, body text); raises ParseError when Flume would flag the line Invalid."""
        n = len(msg)
        if n == 0 or msg[0] != "<":
            raise ParseError("invalid priority: cannot find open bracket '<'")
        end = msg.find(">")
        if not 0 < end <= 6:
            raise ParseError("invalid priority: cannot find end bracket '>'")
        priority = msg[1:end]
        if not re.fullmatch(r"[+-]?\d+", priority):
            raise ParseError(f"invalid priority {priority!r}")
        pri = int(priority)
        headers = {PRIORITY: priority, FACILITY: str(_java_div(pri, 8)), SEVERITY: str(_java_mod(pri, 8))}
        if n <= end + 1:
            raise ParseError("no data except priority")
        pos = end + 1
        version = None
        if n > pos + 2 and msg[pos:pos + 2] == "1 ":
            version = "1"
            headers[VERSION] = version
            pos += 2
        first = msg[pos]
        if first == "-":
            ts_string = "-"
            ts = self.clock()
            if n <= pos + 2:
                raise ParseError("missing hostname")
            pos += 2
        elif "A" <= first <= "Z":
            if n <= pos + 15:
                raise ParseError("bad timestamp format")
            ts_string = msg[pos:pos + 15]
            ts = self._rfc3164(ts_string)
            pos += 16
        else:
            sp = msg.find(" ", pos)
            if sp == -1:
                raise ParseError("bad timestamp format")
            ts_string = msg[pos:sp]
            ts = self._rfc5424(ts_string)
            pos = sp + 1
        headers["timestamp"] = str(ts)
        sp = msg.find(" ", pos)
        if sp == -1:
            raise ParseError("missing hostname")
        host = msg[pos:sp]
        headers["host"] = host
        if n > sp + 1 and KEEP_ALL not in self.keep:
            body = add_fields_to_body(self.keep, msg[sp + 1:], priority, version, ts_string, host)
        else:
            body = msg
        return headers, body

    def _rfc5424(self, s: str) -> int:
        n = len(s)
        if n <= 19:
            raise ParseError(f"not a valid RFC5424 timestamp: {s}")
        prefix = s[:19]
        ts = self._cache.get(prefix)
        if ts is None:
            m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", prefix)
            if m is None:
                raise ParseError(f"bad timestamp format: {s}")
            y, mo, d, h, mi, sec = (int(g) for g in m.groups())
            if not (1 <= mo <= 12 and 1 <= d <= _month_days(y, mo) and h <= 23 and mi <= 59 and sec <= 59):
                raise ParseError(f"bad timestamp format: {s}")
            ts = _utc_millis(y, mo, d, h, mi, sec, 0)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[prefix] = ts
        pos = 19
        if s[pos] == ".":
            e = pos + 1
            if n <= e:
                raise ParseError("bad timestamp format (no TZ)")
            while e < n and s[e].isdigit() and s[e] in "0123456789":
                e += 1
            if e >= n:
                raise ParseError("bad timestamp format (no TZ)")  # Flume reads past the end here
            digits = e - pos - 1
            if digits == 0:
                raise ParseError(f"invalid timestamp (fractional portion): {s}")
            frac = int(s[pos + 1:e])
            if digits > 3:
                frac //= 10 ** (digits - 3)
            elif digits < 3:
                frac *= 10 ** (3 - digits)
            ts += frac
            pos = e
        tz = s[pos] if pos < n else ""
        if tz in ("+", "-"):
            if n <= pos + 5:
                raise ParseError(f"invalid timezone ({s})")
            h5 = s[pos + 1:pos + 6]
            if not re.fullmatch(r"[0-9]{2}:[0-9]{2}", h5):
                raise ParseError(f"invalid timezone: {s}")
            sign = 1 if tz == "+" else -1
            ts -= sign * (int(h5[:2]) * 60 + int(h5[3:])) * 60_000
        return ts

    def _rfc3164(self, s: str) -> int:
        s = s.replace("  ", " ", 1)
        m = re.fullmatch(r"([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2})", s)
        if m is None:
            return 0
        mon = _MONTHS.get(m.group(1).lower())
        d, h, mi, sec = (int(g) for g in m.groups()[1:])
        if mon is None or not (1 <= d <= 31 and h <= 23 and mi <= 59 and sec <= 59):
            return 0
        now = self.clock()
        year = time.gmtime(now // 1000).tm_year
        if d > _month_days(2000, mon):  # Joda parses with year 2000 (a leap year)
            return 0
        d2 = min(d, _month_days(year, mon))
        ts = _utc_millis(year, mon, d2, h, mi, sec, 0)
        if ts > now and _utc_millis(*_add_months(year, mon, d2, -1), h, mi, sec, 0) > now:
            return _utc_millis(year - 1, mon, min(d, _month_days(year - 1, mon)), h, mi, sec, 0)
        if ts < now and _utc_millis(*_add_months(year, mon, d2, 11), h, mi, sec, 0) < now:
            return _utc_millis(year + 1, mon, min(d, _month_days(year + 1, mon)), h, mi, sec, 0)
        return ts


def _month_days(y: int, m: int) -> int:
    return calendar.monthrange(y, m)[1] if 1 <= y <= 9999 else 31


def _java_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def _java_mod(a: int, b: int) -> int:
    return a - _java_div(a, b) * b
