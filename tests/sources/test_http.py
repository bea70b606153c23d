"""http source: JSON/Blob handlers, 200 after commit, 400/413/503/405, limits, slowloris, CLI end to end."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.sources.http import HTTPSource
from flumepy.sources.http_handlers import BadRequest, HttpRequest, parse_json_events
from tests.sources.conftest import Wired
from tests.util import AgentProcess, free_port, wait_until, write_conf


def started(wire: Callable[..., Wired], settings: dict[str, str] | None = None, **kw: int) -> Wired:
    s = {"bind": "127.0.0.1", "port": "0"}
    s.update(settings or {})
    w = wire(HTTPSource, s, **kw)
    w.source.start()
    return w


def post(w: Wired, body: bytes, path: str = "/", headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*w.source.address, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class Handler:
    """A plugin handler (module:Class): one event per line, header from a handler.* key."""

    def configure(self, ctx: Context) -> None:
        self.tag = ctx.get("tag", "none")

    def get_events(self, request: HttpRequest) -> list[Event]:
        return [Event(line, {"tag": self.tag}) for line in request.body.splitlines()]


def test_json_batch_is_committed_before_200(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    body = json.dumps([{"headers": {"a": "b", "n": 1}, "body": "héllo"}, {"body": "two"}, {"headers": {}}])
    assert post(w, body.encode(), headers={"Content-Type": "application/json"}) == (200, b"")
    assert [(e.headers, e.body) for e in w.take()] == [
        ({"a": "b", "n": "1"}, "héllo".encode()), ({}, b"two"), ({}, b"")]
    c = w.source.counters.values
    assert c["EventAcceptedCount"] == 3 and c["AppendBatchAcceptedCount"] == 1


def test_json_utf16_body_is_encoded_as_java_does(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    data = json.dumps([{"body": "hé"}]).encode("utf-16-be")
    assert post(w, data, headers={"Content-Type": "application/json; charset=UTF-16"})[0] == 200
    assert w.bodies() == [b"\xfe\xff" + "hé".encode("utf-16-be")]


@pytest.mark.parametrize("body,reason", [
    (b'[{"headers":', b"invalid JSON Syntax"),
    (b'{"body": "x"}', b"expected a JSON array"),
    (b'["x"]', b"event 0: expected a JSON object"),
    (b'[{"headers": {"a": {"b": 1}}}]', b"header 'a' must be a string"),
    (b"", b"empty body"),
    (b'[{"body": "\xff"}]', b"not valid UTF-8"),
])
def test_malformed_json_gets_400_with_reason(wire: Callable[..., Wired], body: bytes, reason: bytes) -> None:
    w = started(wire)
    status, text = post(w, body)
    assert status == 400 and reason in text, text
    assert w.bodies() == []
    assert post(w, b'[{"body": "fine"}]')[0] == 200  # the source keeps serving


def test_unsupported_charset_and_methods(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    status, text = post(w, b"[]", headers={"Content-Type": "application/json; charset=ISO-8859-1"})
    assert status == 400 and b"UTF-8, UTF-16 and UTF-32 only" in text
    assert post(w, b"[]", method="PUT")[0] == 405
    assert post(w, b"", method="TRACE")[0] == 405


def test_full_channel_gives_503_then_recovers(wire: Callable[..., Wired]) -> None:
    w = started(wire, {"channelFullWait": "200"}, capacity=3, transaction_capacity=3)
    ok = json.dumps([{"body": "a"}, {"body": "b"}, {"body": "c"}]).encode()
    assert post(w, ok)[0] == 200
    status, text = post(w, json.dumps([{"body": "d"}]).encode())
    assert status == 503 and b"Channel might be full" in text
    assert w.source.counters.values["ChannelWriteFail"] == 1
    assert w.bodies() == [b"a", b"b", b"c"]
    assert post(w, json.dumps([{"body": "d"}]).encode())[0] == 200
    assert w.bodies() == [b"d"]


def test_more_events_than_a_transaction_is_413(wire: Callable[..., Wired]) -> None:
    w = started(wire, transaction_capacity=5)
    status, text = post(w, json.dumps([{"body": str(i)} for i in range(6)]).encode())
    assert status == 413 and b"transactionCapacity" in text
    assert w.bodies() == []


def test_body_size_limit_and_chunked_requests(wire: Callable[..., Wired]) -> None:
    w = started(wire, {"maxRequestSize": "100"})
    status, text = post(w, b"[" + b" " * 200 + b"]")
    assert status == 413 and b"maxRequestSize" in text
    with socket.create_connection(w.source.address, timeout=10) as s:
        body = b'[{"body": "chunked"}]'
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        assert s.recv(1000).startswith(b"HTTP/1.1 200")
    assert w.bodies() == [b"chunked"]


def test_blob_handler_and_plugin_handler(wire: Callable[..., Wired]) -> None:
    w = started(wire, {"handler": "org.apache.flume.sink.solr.morphline.BlobHandler",
                       "handler.maxBlobLength": "5"})
    assert post(w, b"0123456789", path="/?k=v", headers={"Content-Type": "text/plain"})[0] == 200
    (e,) = w.take()
    assert e.body == b"01234" and e.headers == {"Content-Type": "text/plain", "k": "v"}
    p = started(wire, {"handler": "tests.sources.test_http:Handler", "handler.tag": "t1"})
    assert post(p, b"x\ny")[0] == 200
    assert [(e.headers, e.body) for e in p.take()] == [({"tag": "t1"}, b"x"), ({"tag": "t1"}, b"y")]


def test_bad_handler_is_a_config_error(wire: Callable[..., Wired]) -> None:
    with pytest.raises(ConfigError, match=r"a1\.sources\.r1\.handler: unknown handler"):
        wire(HTTPSource, {"port": "0", "handler": "com.example.Nope"})
    with pytest.raises(ConfigError, match=r"maxBlobLength: must be greater than zero"):
        wire(HTTPSource, {"port": "0", "handler": "BlobHandler", "handler.maxBlobLength": "0"})


def test_slowloris_is_cut_off_and_does_not_block_others(wire: Callable[..., Wired]) -> None:
    w = started(wire, {"ServerConnector.idleTimeout": "1000", "QueuedThreadPool.maxThreads": "16"})
    slow = [socket.create_connection(w.source.address, timeout=10) for _ in range(3)]
    for s in slow:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")  # headers never end
    for i in range(5):
        assert post(w, json.dumps([{"body": str(i)}]).encode())[0] == 200
    for s in slow:  # closed by the server once idleTimeout passes
        assert s.recv(100) == b""
        s.close()
    assert w.bodies() == [b"0", b"1", b"2", b"3", b"4"]


def test_connection_cap_refuses_with_503(wire: Callable[..., Wired]) -> None:
    w = started(wire, {"QueuedThreadPool.maxThreads": "2"})
    held = [socket.create_connection(w.source.address, timeout=10) for _ in range(2)]
    wait_until(lambda: w.source.counters.values["OpenConnectionCount"] == 2, what="2 open connections")
    status, text = post(w, b"[]")
    assert status == 503 and b"too many connections" in text
    for s in held:
        s.close()
    wait_until(lambda: post(w, b"[]")[0] == 200, what="a free slot again")


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c,
                                                                                    max_size=4),
                              max_leaves=20).map(json.dumps)))
def test_fuzz_json_handler(text: str) -> None:
    try:
        events = parse_json_events(text)
    except BadRequest as e:
        assert str(e)
        return
    for e in events:
        assert isinstance(e.body, bytes)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in e.headers.items())


def test_agent_http_to_file_roll(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = http
        a1.sources.r1.bind = 127.0.0.1
        a1.sources.r1.port = {port}
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        a1.sinks.k1.sink.serializer = header_and_text
        """)
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    agent.wait_for_output(rf"http source r1 listening on 127\.0\.0\.1:{port}")
    for b in range(10):
        batch = [{"headers": {"batch": str(b), "i": str(i)}, "body": f"event {b}-{i}"} for i in range(20)]
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                            "-H", "Content-Type: application/json", "--data-binary", json.dumps(batch),
                            f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=30)
        assert r.stdout == "200", r
    assert agent.terminate() == 0
    data = b"".join(p.read_bytes() for p in sorted(out.iterdir()))
    assert data == b"".join(b"{batch=%d, i=%d} event %d-%d\n" % (b, i, b, i) for b in range(10) for i in range(20))
