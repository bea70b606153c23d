"""timestamp, static, host and uuid: the header each sets, and preserveExisting."""

from __future__ import annotations

import re
import socket

from flumepy.core.event import Event
from flumepy.interceptors.host import HostInterceptor
from flumepy.interceptors.static import StaticInterceptor
from flumepy.interceptors.timestamp import TimestampInterceptor
from flumepy.interceptors.uuid import UUIDInterceptor


def events(*headers: dict[str, str]) -> list[Event]:
    return [Event(b"body%d" % i, dict(h)) for i, h in enumerate(headers)]


def test_timestamp_sets_epoch_millis(make):
    ic = make(TimestampInterceptor)
    ic.clock = lambda: 1700000000.1234
    out = ic.intercept_batch(events({}, {"timestamp": "1"}, {"x": "y"}))
    assert [e.headers for e in out] == [{"timestamp": "1700000000123"}, {"timestamp": "1700000000123"},
                                        {"x": "y", "timestamp": "1700000000123"}]
    assert [e.body for e in out] == [b"body0", b"body1", b"body2"]


def test_timestamp_preserve_existing_and_header_name(make):
    ic = make(TimestampInterceptor, {"headerName": "ts", "preserveExisting": "true"})
    ic.clock = lambda: 5.0
    out = ic.intercept_batch(events({"ts": "old"}, {}))
    assert [e.headers for e in out] == [{"ts": "old"}, {"ts": "5000"}]


def test_timestamp_uses_wall_clock_by_default(make):
    import time

    before = int(time.time() * 1000)
    (e,) = make(TimestampInterceptor).intercept_batch(events({}))
    assert before <= int(e.headers["timestamp"]) <= int(time.time() * 1000)


def test_static_defaults_preserve_existing(make):
    ic = make(StaticInterceptor)
    out = ic.intercept_batch(events({}, {"key": "mine"}))
    assert [e.headers for e in out] == [{"key": "value"}, {"key": "mine"}]


def test_static_overwrites_when_not_preserving(make):
    ic = make(StaticInterceptor, {"key": "datacenter", "value": "NEW_YORK", "preserveExisting": "false"})
    out = ic.intercept_batch(events({"datacenter": "LA"}, {}))
    assert [e.headers for e in out] == [{"datacenter": "NEW_YORK"}, {"datacenter": "NEW_YORK"}]


def test_host_ip_by_default_and_resolved_once(make, monkeypatch):
    ic = make(HostInterceptor)
    ic.start()
    expected = socket.gethostbyname(socket.gethostname())
    calls = []
    monkeypatch.setattr(socket, "gethostbyname", lambda n: calls.append(n) or "0.0.0.0")
    out = ic.intercept_batch(events({}, {"host": "other"}))
    out = ic.intercept_batch(out)
    assert [e.headers for e in out] == [{"host": expected}, {"host": expected}]
    assert calls == []  # no DNS lookup per event or batch


def test_host_name_preserve_and_header(make):
    ic = make(HostInterceptor, {"useIP": "false", "hostHeader": "hostname", "preserveExisting": "true"})
    out = ic.intercept_batch(events({}, {"hostname": "keep"}))  # resolves on the first batch
    assert out[0].headers == {"hostname": socket.getfqdn(socket.gethostname())}
    assert out[1].headers == {"hostname": "keep"}


def test_host_unresolvable_sets_nothing(make, monkeypatch):
    def fail(name):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "gethostbyname", fail)
    ic = make(HostInterceptor)
    (e,) = ic.intercept_batch(events({}))
    assert e.headers == {}


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def test_uuid_defaults(make):
    ic = make(UUIDInterceptor)
    out = ic.intercept_batch(events({}, {}, {"id": "given"}))
    assert UUID_RE.match(out[0].headers["id"]) and UUID_RE.match(out[1].headers["id"])
    assert out[0].headers["id"] != out[1].headers["id"]
    assert out[2].headers == {"id": "given"}


def test_uuid_prefix_header_and_overwrite(make):
    ic = make(UUIDInterceptor, {"headerName": "eventId", "prefix": "web-", "preserveExisting": "false"})
    (e,) = ic.intercept_batch(events({"eventId": "given"}))
    assert e.headers["eventId"].startswith("web-") and UUID_RE.match(e.headers["eventId"][4:])
