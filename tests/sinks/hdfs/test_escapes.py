"""Flume's path escapes: every time field, headers, host names, rounding and time zones."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flumepy.sinks.hdfs.escapes import HostInfo, compile_template, round_down

UTC = UTC
# 2024-01-05 13:04:05.678 UTC, a Friday
TS = int(datetime(2024, 1, 5, 13, 4, 5, 678000, tzinfo=UTC).timestamp() * 1000)


def render(text: str, headers: dict[str, str] | None = None, ts: int | None = TS, tz=UTC) -> str:
    return compile_template(text).render(headers or {}, ts, tz, HostInfo())


@pytest.mark.parametrize("escape, expected", [
    ("%a", "Fri"), ("%A", "Friday"), ("%b", "Jan"), ("%B", "January"), ("%c", "Fri Jan 5 13:04:05 2024"),
    ("%d", "05"), ("%e", "5"), ("%D", "01/05/24"), ("%H", "13"), ("%I", "01"), ("%j", "005"), ("%k", "13"),
    ("%l", "1"), ("%m", "01"), ("%n", "1"), ("%M", "04"), ("%p", "PM"), ("%s", str(TS // 1000)), ("%S", "05"),
    ("%y", "24"), ("%Y", "2024"), ("%z", "+0000"), ("%t", str(TS)), ("%%", "%"),
])
def test_each_time_escape(escape: str, expected: str) -> None:
    assert render(escape) == expected


def test_a_typical_path() -> None:
    assert render("/flume/%{topic}/%Y-%m-%d/%H%M", {"topic": "web"}) == "/flume/web/2024-01-05/1304"
    assert render("/flume/%{missing}/x") == "/flume//x"


def test_time_zone_changes_fields() -> None:
    assert render("%Y-%m-%d %H %z", tz=ZoneInfo("Asia/Tokyo")) == "2024-01-05 22 +0900"
    assert render("%H %z", tz=ZoneInfo("America/New_York")) == "08 -0500"


def test_host_escapes() -> None:
    assert render("%[localhost]") == socket.gethostname()
    assert render("%[FQDN]") == socket.getfqdn(socket.gethostname())
    assert render("%[IP]").count(".") == 3


def test_constant_and_needs_time() -> None:
    t = compile_template("/data/%{h}")
    assert not t.needs_time and not t.is_constant
    assert compile_template("/data/x").is_constant
    assert compile_template("/data/%Y/%{h}").needs_time
    assert compile_template("/data/%Y/%{h}").literal_prefix() == "/data/"


def test_unknown_escapes_are_errors() -> None:
    with pytest.raises(ValueError, match="unsupported escape %q"):
        compile_template("/x/%q")
    with pytest.raises(ValueError, match=r"%\[host\]"):
        compile_template("/x/%[host]")


@pytest.mark.parametrize("unit, value, expected", [
    ("second", 10, datetime(2024, 1, 5, 13, 4, 0, tzinfo=UTC)),
    ("minute", 15, datetime(2024, 1, 5, 13, 0, tzinfo=UTC)),
    ("minute", 1, datetime(2024, 1, 5, 13, 4, tzinfo=UTC)),
    ("hour", 6, datetime(2024, 1, 5, 12, 0, tzinfo=UTC)),
])
def test_round_down(unit: str, value: int, expected: datetime) -> None:
    assert round_down(TS, unit, value, UTC) == int(expected.timestamp() * 1000)


def test_round_down_hours_in_the_configured_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # 22:04 local -> 18:00 local with 6-hour buckets
    got = datetime.fromtimestamp(round_down(TS, "hour", 6, tokyo) / 1000, tokyo)
    assert (got.hour, got.minute) == (18, 0)
