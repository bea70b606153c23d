"""netcatudp source: one event per datagram."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from flumepy.core.errors import ConfigError, FlumeError
from flumepy.sources.netcatudp import NetcatUdpSource
from tests.sources.conftest import Wired
from tests.util import AgentProcess, free_port, wait_until, write_conf


def started(wire: Callable[..., Wired], settings: dict[str, str] | None = None, **kw: object) -> Wired:
    s = {"bind": "127.0.0.1", "port": "0"}
    s.update(settings or {})
    w = wire(NetcatUdpSource, s, **kw)
    w.source.start()
    return w


def send(address: tuple[str, int], *datagrams: bytes) -> tuple[str, int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, address)
        return s.getsockname()


def test_one_event_per_datagram_trailing_newline_stripped(wire: Callable[..., Wired]) -> None:
    w = started(wire)
    send(w.source.address, b"hello\n", b"no newline", b"two\nlines\n", b"crlf\r\n")
    v = w.source.counters.values
    wait_until(lambda: v["EventAcceptedCount"] == 4, what="4 events accepted")
    assert w.bodies() == [b"hello", b"no newline", b"two\nlines", b"crlf\r"]
    assert v["EventReceivedCount"] == 4


def test_remote_address_header(wire: Callable[..., Wired]) -> None:
    w = started(wire, {"remoteAddressHeader": "sender"})
    send(w.source.address, b"x\n")
    wait_until(lambda: w.source.counters.values["EventAcceptedCount"] == 1, what="1 event")
    (event,) = w.take()
    assert event.headers == {"sender": "127.0.0.1"}
    assert event.body == b"x"


def test_full_channel_is_retried_not_dropped(wire: Callable[..., Wired]) -> None:
    w = started(wire, capacity=3, transaction_capacity=3)
    send(w.source.address, *[b"d%d\n" % i for i in range(9)])
    v = w.source.counters.values
    wait_until(lambda: v["ChannelWriteFail"] > 0, what="a put that failed on the full channel")
    got = []
    wait_until(lambda: got.extend(w.take()) or len(got) == 9, what="all 9 datagrams")
    assert [e.body for e in got] == [b"d%d" % i for i in range(9)]


def test_port_in_use_is_a_clear_start_error(wire: Callable[..., Wired]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        w = wire(NetcatUdpSource, {"bind": "127.0.0.1", "port": str(port)})
        with pytest.raises(FlumeError, match=rf"cannot listen on 127\.0\.0\.1:{port}: Address already in use"):
            w.source.start()


def test_missing_port_names_the_key(wire: Callable[..., Wired]) -> None:
    with pytest.raises(ConfigError, match="a1.sources.r1.port"):
        wire(NetcatUdpSource, {"bind": "127.0.0.1"})


def test_agent_netcatudp_to_file_roll(tmp_path: Path, agent_process: type[AgentProcess]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = netcatudp
        a1.sources.r1.bind = 127.0.0.1
        a1.sources.r1.port = {port}
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        """)
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    agent.wait_for_output(rf"netcatudp source r1 listening on 127\.0\.0\.1:{port}")
    send(("127.0.0.1", port), *[b"msg %d\n" % i for i in range(50)])

    def written() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(out.iterdir()))

    wait_until(lambda: written().count(b"\n") == 50, what="50 lines in the output directory")
    assert agent.terminate() == 0
    assert written() == b"".join(b"msg %d\n" % i for i in range(50))
