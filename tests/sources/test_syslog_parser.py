"""Syslog parsing: Flume's SyslogUtils (syslogtcp/udp) and SyslogParser (multiport) headers, exactly."""

from __future__ import annotations

import calendar
import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from flumepy.syslog import (
    INCOMPLETE,
    INVALID,
    STATUS,
    BulkParser,
    MultiportParser,
    ParseError,
    StreamSplitter,
    SyslogParser,
    keep_fields,
)

NOW = calendar.timegm((2026, 11, 27, 12, 0, 0)) * 1000


def utc(*fields: int) -> str:
    return str(calendar.timegm((*fields, 0, 0, 0)) * 1000)


def local(y: int, mo: int, d: int, h: int, mi: int, s: int, ms: int = 0) -> str:
    return str(int(time.mktime((y, mo, d, h, mi, s, 0, 0, -1))) * 1000 + ms)


def parse(raw: bytes, keep: str = "none", incomplete: bool = False) -> tuple[dict[str, str], bytes]:
    e = SyslogParser(keep_fields(keep), clock=lambda: NOW).event(raw, incomplete)
    return e.headers, e.body


def test_rfc3164_sample() -> None:
    h, body = parse(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert h == {"Facility": "4", "Severity": "2", "priority": "34", "timestamp": local(2026, 10, 11, 22, 14, 15),
                 "host": "mymachine"}
    assert body == b"su: 'su root' failed for lonvick on /dev/pts/8"


def test_rfc3164_single_digit_day_and_year_window() -> None:
    h, body = parse(b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!")
    # Feb 5 2026 is less than eleven months before Nov 27 2026: this year.
    assert h["timestamp"] == local(2026, 2, 5, 17, 32, 18) and h["host"] == "10.0.0.99"
    assert body == b"Use the BFG!"
    # Dec 30 is more than a month ahead of Nov 27 2026 -> last year; Dec 20 is less -> this year.
    assert parse(b"<13>Dec 30 10:00:00 h m")[0]["timestamp"] == local(2025, 12, 30, 10, 0, 0)
    assert parse(b"<13>Dec 20 10:00:00 h m")[0]["timestamp"] == local(2026, 12, 20, 10, 0, 0)
    p = SyslogParser(clock=lambda: calendar.timegm((2026, 12, 15, 0, 0, 0)) * 1000)
    assert p.event(b"<13>Dec 20 10:00:00 h m").headers["timestamp"] == local(2026, 12, 20, 10, 0, 0)
    # Jan 3 seen from Dec 30 is next year.
    p = SyslogParser(clock=lambda: calendar.timegm((2026, 12, 30, 0, 0, 0)) * 1000)
    assert p.event(b"<13>Jan  3 10:00:00 h m").headers["timestamp"] == local(2027, 1, 3, 10, 0, 0)


def test_rfc5424_samples() -> None:
    h, body = parse(b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed")
    # Flume's first format "yyyy-MM-dd'T'HH:mm:ss.S" parses a prefix: local time, the zone is ignored.
    assert h == {"Facility": "4", "Severity": "2", "priority": "34", "version": "1",
                 "timestamp": local(2003, 10, 11, 22, 14, 15, 3), "host": "mymachine.example.com"}
    assert body == b"su - ID47 - BOM'su root' failed"
    h, body = parse(b"<10>1 2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg")
    assert h["timestamp"] == utc(2012, 4, 13, 3, 11, 11) and body == b"some msg"
    assert parse(b"<10>1 2012-04-13T11:11:11Z h m")[0]["timestamp"] == utc(2012, 4, 13, 11, 11, 11)
    assert parse(b"<10>1 2012-04-13T11:11:11 h m")[0]["timestamp"] == local(2012, 4, 13, 11, 11, 11)
    # microseconds are cut to milliseconds (FLUME-2497); ".5" is read as 5 ms, as SimpleDateFormat does
    assert parse(b"<10>2014-10-03T17:20:01.123456-07:00 h m")[0]["timestamp"] == local(2014, 10, 3, 17, 20, 1, 123)
    assert parse(b"<10>1 2012-04-13T11:11:11.5 h m")[0]["timestamp"] == local(2012, 4, 13, 11, 11, 11, 5)


def test_rfc5424_nil_stamp_and_host() -> None:
    h, body = parse(b"<10>1 - ubuntu-11.cloudera.com some msg")
    assert h == {"Facility": "1", "Severity": "2", "priority": "10", "version": "1",
                 "host": "ubuntu-11.cloudera.com"}
    h, body = parse(b"<10>1 2012-04-13T11:11:11Z - some msg")
    assert "host" not in h and body == b"some msg"


def test_invalid_and_unmatched_messages() -> None:
    for raw in (b"<10F> bad bad data", b"hi guys! <10> bad bad data", b"<> bad bad data",
                b"<123123123123> bad", b"<1234>x", b""):
        h, body = parse(raw)
        assert h == {"Facility": "0", "Severity": "0", STATUS: INVALID}, raw
        assert body == raw
    # A valid priority but no known layout: raw body, no status, no priority header (as Flume).
    assert parse(b"<10>Good good good data") == ({"Facility": "1", "Severity": "2"}, b"<10>Good good good data")
    # A trailing \r keeps Java's regex from matching: raw body.
    assert parse(b"<13>1 - host msg\r")[1] == b"<13>1 - host msg\r"


def test_incomplete_flag_and_invalid_utf8() -> None:
    h, body = parse(b"<10> bad b", incomplete=True)
    assert h == {"Facility": "1", "Severity": "2", STATUS: INCOMPLETE} and body == b"<10> bad b"
    h, body = parse(b"<13>1 - host caf\xe9 \xff")
    assert body == "caf\ufffd \ufffd".encode() and h["host"] == "host"


def test_keep_fields() -> None:
    msg = b"<10>1 2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg"
    assert parse(msg, "hostname")[1] == b"ubuntu-11.cloudera.com some msg"
    assert parse(msg, "timestamp hostname")[1] == b"2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg"
    assert parse(msg, "priority timestamp hostname")[1] == (
        b"<10>2012-04-13T11:11:11+08:00 ubuntu-11.cloudera.com some msg")
    for keep in ("all", "true", "priority version timestamp hostname"):
        assert parse(msg, keep)[1] == msg
    for keep in ("none", "false"):
        assert parse(msg, keep)[1] == b"some msg"


def test_splitter_newline_framing_and_event_size() -> None:
    s = StreamSplitter(10, octets=False)
    # Flume's testExtractBadEventLarge: cut at eventSize, the rest is the next message.
    assert s.feed(b"<10> bad bad data bad bad\n") == [(b"<10> bad b", True), (b"ad data ba", True), (b"d bad", False)]
    assert s.feed(b"\n\n<1>ab") == [] and s.feed(b"c\n") == [(b"<1>abc", False)]
    assert s.feed(b"<1>tail") == [] and s.finish() == [(b"<1>tail", False)]


def test_splitter_octet_counting() -> None:
    s = StreamSplitter(100)
    msg = b"<13>1 - h multi\nline"
    data = b"%d %s" % (len(msg), msg) + b"<14>1 - h plain\n"
    # byte by byte: frames and lines are found whatever the packet boundaries
    out = []
    for i in range(len(data)):
        out += s.feed(data[i:i + 1])
    assert out == [(msg, False), (b"<14>1 - h plain", False)]
    s = StreamSplitter(10)
    assert s.feed(b"15 <1>abcdefghijkl<2>x\n") == [(b"<1>abcdefg", True), (b"<2>x", False)]
    assert s.skipped_frames == 1


def test_multiport_parser_samples() -> None:
    p = MultiportParser(clock=lambda: NOW)
    h, body = p.parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed")
    assert h == {"Priority": "34", "Facility": "4", "Severity": "2", "timestamp": utc(2026, 10, 11, 22, 14, 15),
                 "host": "mymachine"}
    assert body == "su: 'su root' failed"
    h, body = p.parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time")
    assert h == {"Priority": "165", "Facility": "20", "Severity": "5", "Version": "1",
                 "timestamp": utc(2003, 8, 24, 12, 14, 15), "host": "192.0.2.1"}
    assert body == "myproc 8710 - - %% It's time"
    assert p.parse("<13>1985-04-12T23:20:50.52Z localhost x")[0]["timestamp"] == str(
        calendar.timegm((1985, 4, 12, 23, 20, 50)) * 1000 + 520)
    assert p.parse("<13>- host x")[0]["timestamp"] == str(NOW)
    assert p.parse("<13>Feb 30 10:00:00 host x")[0]["timestamp"] == "0"  # unreadable 3164 stamp
    keep = MultiportParser(keep_fields("all"), clock=lambda: NOW)
    assert keep.parse("<13>2003-08-24T05:14:15Z localhost snarf?")[1] == "<13>2003-08-24T05:14:15Z localhost snarf?"
    for bad in ("", "x<13>", "<13>", "<1a>x y z", "<13>2003-08-24T05:14:15Zlocalhost", "<13>2003-13-24T05:14:15Z h x"):
        try:
            p.parse(bad)
        except ParseError:
            continue
        raise AssertionError(f"{bad!r} parsed")


# -- fuzzing: any bytes give an event (never an exception), bodies and headers stay well-formed --------

@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.booleans(), st.sampled_from(["none", "all", "hostname timestamp"]))
def test_fuzz_syslogutils_parser(raw: bytes, incomplete: bool, keep: str) -> None:
    e = SyslogParser(keep_fields(keep), clock=lambda: NOW).event(raw, incomplete)
    assert {"Facility", "Severity"} <= set(e.headers)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in e.headers.items())
    assert isinstance(e.body, bytes)
    if "timestamp" in e.headers:
        int(e.headers["timestamp"])


syslogish = st.builds(
    lambda pri, ver, stamp, host, msg: f"<{pri}>{ver}{stamp} {host} {msg}",
    st.integers(0, 999), st.sampled_from(["", "1 "]),
    st.one_of(st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?\Z"),
              st.from_regex(r"\A[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}\Z"), st.just("-")),
    st.from_regex(r"\A[\w.-]{1,10}\Z"), st.text(max_size=40))


@settings(max_examples=150, deadline=None)
@given(st.one_of(syslogish, st.text(max_size=80)))
def test_fuzz_both_parsers_on_syslog_shaped_text(text: str) -> None:
    e = SyslogParser(clock=lambda: NOW).event(text.encode("utf-8", "surrogatepass"))
    assert "Facility" in e.headers
    try:
        h, body = MultiportParser(clock=lambda: NOW).parse(text)
    except ParseError:
        return
    int(h["timestamp"])
    assert isinstance(body, str)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=8), st.integers(10, 40), st.booleans())
def test_fuzz_splitter_bounded_and_lossless(chunks: list[bytes], size: int, octets: bool) -> None:
    s = StreamSplitter(size, octets)
    out = []
    for c in chunks:
        out += s.feed(c)
        assert len(s.buf) <= max(size, 11) and len(s.frame_buf) <= size
    out += s.finish()
    for msg, _ in out:
        assert 0 < len(msg) <= size
    if not octets:  # newline framing loses nothing but the newlines
        assert b"".join(m for m, _ in out) == b"".join(chunks).replace(b"\n", b"")


# -- the bulk fast path gives exactly the events of splitter + parser, or declines ---------------------


def general_path(block: bytes, size: int, extra: dict[str, str]) -> list[tuple[dict[str, str], bytes]]:
    parser = SyslogParser(clock=lambda: NOW)
    out = []
    for raw, inc in StreamSplitter(size).feed(block):
        e = parser.event(raw, inc)
        e.headers.update(extra)
        out.append((e.headers, e.body))
    return out


def bulk_path(block: bytes, size: int, extra: dict[str, str],
              keep: str = "none") -> list[tuple[dict[str, str], bytes]] | None:
    events = BulkParser(SyslogParser(keep_fields(keep), clock=lambda: NOW), size, extra).parse(block)
    return None if events is None else [(e.headers, e.body) for e in events]


def test_bulk_parser_plain_rfc3164_block() -> None:
    block = (b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n"
             b"<13>1 Oct  1 08:00:00 web-1.example.com app[12]: ok\n"
             b"<34>Oct 11 22:14:15 mymachine su: again\n")
    got = bulk_path(block, 2500, {"ip": "10.0.0.1"})
    assert got == general_path(block, 2500, {"ip": "10.0.0.1"})
    assert got is not None and got[1] == ({"Facility": "1", "Severity": "5", "priority": "13", "version": "1",
                                           "timestamp": local(2026, 10, 1, 8, 0, 0), "host": "web-1.example.com",
                                           "ip": "10.0.0.1"}, b"app[12]: ok")
    assert got[0][0] is not got[2][0]  # same head, separate header maps
    # Declined: RFC 5424, empty message, empty line, \r, non-ASCII, too long, keepFields, octet count.
    for bad in (b"<34>1 2026-11-27T12:00:00Z host app - - msg\n", b"<34>Oct 11 22:14:15 host \n",
                b"<34>Oct 11 22:14:15 host a\n\n", b"<34>Oct 11 22:14:15 host a\r\n",
                "<34>Oct 11 22:14:15 host é\n".encode(), b"<34>Oct 11 22:14:15 host " + b"a" * 100 + b"\n",
                b"<34>Oct 11 22:14:15 host a\n5 <1>x\n"):
        assert bulk_path(block + bad, 60, {}) is None, bad
    assert bulk_path(block, 2500, {}, keep="hostname") is None


line3164 = st.builds(
    lambda pri, ver, sp, mon, day, t, host, msg: f"<{pri}>{ver}{sp}{mon} {day} {t} {host} {msg}".encode(),
    st.integers(0, 999), st.sampled_from(["", "1", "12"]), st.sampled_from(["", " ", "  ", "\t"]),
    st.sampled_from(["Oct", "Feb", "oct", "OCT", "Xyz"]), st.sampled_from(["1", " 1", "01", "27", "32", "123"]),
    st.sampled_from(["22:14:15", "24:61:61", "1:2:3"]),
    st.one_of(st.from_regex(r"\A[\w.@\- ]{0,8}\Z"), st.sampled_from(["h:1", "10:00:00", "a\tb", "12:00:00 x"])),
    st.text(st.characters(max_codepoint=300), max_size=20))


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None)
@given(st.lists(line3164, min_size=1, max_size=6), st.integers(10, 80), st.booleans())
def test_fuzz_bulk_parser_equals_general_path(lines: list[bytes], size: int, extra: bool) -> None:
    block = b"".join(ln + b"\n" for ln in lines)
    headers = {"client": "1.2.3.4"} if extra else {}
    got = bulk_path(block, size, headers)
    if got is not None:
        assert got == general_path(block, size, headers)


plain3164 = st.builds(
    lambda pri, ver, mon, day, t, host, msg: f"<{pri}>{ver}{mon} {day} {t} {host} {msg}".encode(),
    st.integers(0, 999).map(str) | st.sampled_from(["007", "01"]), st.sampled_from(["", "1 ", "2"]),
    st.sampled_from(["Oct", "Feb", "Jan"]), st.sampled_from(["1", " 1", "01", "27", "31"]),
    st.sampled_from(["22:14:15", "00:00:00", "23:59:59"]),
    st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.@-]{0,8}\Z", fullmatch=True),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30)
    | st.sampled_from(["12:00:00 host2 x", ": 10:10:10 a b", " <3>Oct 11 22:14:15 h m"]))


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None)
@given(st.lists(plain3164, min_size=1, max_size=8), st.booleans())
def test_fuzz_bulk_parser_takes_plain_rfc3164_lines_as_the_general_path_would(lines: list[bytes], extra: bool) -> None:
    block = b"".join(ln + b"\n" for ln in lines)
    headers = {"client": "1.2.3.4"} if extra else {}
    got = bulk_path(block, 2500, headers)
    assert got is not None
    assert got == general_path(block, 2500, headers)
