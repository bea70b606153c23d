"""syslogtcp, multiport_syslogtcp and syslogudp over real sockets, and through the CLI into file_roll."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flumepy.core.errors import ConfigError
from flumepy.sources.multiport_syslogtcp import MultiportSyslogTcpSource
from flumepy.sources.syslogtcp import SyslogTcpSource
from flumepy.sources.syslogudp import SyslogUdpSource
from flumepy.syslog import INCOMPLETE, INVALID, STATUS
from tests.sources.conftest import Wired
from tests.util import AgentProcess, free_port, wait_until, write_conf

R3164 = b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
R5424 = b"<165>1 2003-08-24T05:14:15-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts."


def started(wire: Callable[..., Wired], cls: type, **settings: str) -> Wired:
    base = {"host": "127.0.0.1", "ports" if cls is MultiportSyslogTcpSource else "port": "0"}
    base.update(settings)
    w = wire(cls, base)
    w.source.start()
    return w


def collect(w: Wired, n: int) -> list:
    got: list = []
    wait_until(lambda: got.extend(w.take()) or len(got) >= n, what=f"{n} events")
    return got


def send_tcp(address: tuple[str, int], *chunks: bytes) -> None:
    with socket.create_connection(address, timeout=10) as s:
        for c in chunks:
            s.sendall(c)


def test_syslogtcp_both_rfcs_exact_headers(wire: Callable[..., Wired]) -> None:
    w = started(wire, SyslogTcpSource, clientIPHeader="ip")
    send_tcp(w.source.address, R3164 + b"\n" + R5424 + b"\n")
    a, b = collect(w, 2)
    assert a.headers["Facility"] == "4" and a.headers["Severity"] == "2" and a.headers["host"] == "mymachine"
    assert a.headers["priority"] == "34" and a.headers["ip"] == "127.0.0.1" and STATUS not in a.headers
    assert a.body == b"su: 'su root' failed for lonvick on /dev/pts/8"
    assert b.headers == {"Facility": "20", "Severity": "5", "priority": "165", "version": "1",
                         "timestamp": "1061727255000", "host": "192.0.2.1", "ip": "127.0.0.1"}
    assert b.body == b"myproc 8710 - - %% It's time to make the do-nuts."


def test_syslogtcp_newline_and_octet_framing_split_anywhere(wire: Callable[..., Wired]) -> None:
    w = started(wire, SyslogTcpSource)
    multi = b"<13>1 - host first line\nsecond line"
    data = b"<13>1 - host plain one\n" + b"%d %s" % (len(multi), multi) + b"<13>1 - host plain two\n"
    with socket.create_connection(w.source.address) as s:
        for i in range(0, len(data), 7):  # 7-byte packets cut frames and counts
            s.sendall(data[i:i + 7])
            time.sleep(0.001)
    got = collect(w, 3)
    assert [e.body for e in got] == [b"plain one", b"first line\nsecond line", b"plain two"]


def test_syslogtcp_event_size_and_invalid_messages(wire: Callable[..., Wired]) -> None:
    w = started(wire, SyslogTcpSource, eventSize="20")
    send_tcp(w.source.address, b"<13>" + b"x" * 30 + b"\nno priority here\n\xff\xfe<13>1 - h ok\n")
    got = collect(w, 4)
    assert [(e.headers.get(STATUS), e.body) for e in got] == [
        (INCOMPLETE, b"<13>" + b"x" * 16), (INVALID, b"x" * 14), (INVALID, b"no priority here"),
        (INVALID, b"\xff\xfe<13>1 - h ok")]
    assert w.source.counters.values["EventReadFail"] == 3


def test_syslogtcp_slow_and_oversized_clients_do_not_block_others(wire: Callable[..., Wired]) -> None:
    w = started(wire, SyslogTcpSource, eventSize="100")
    slow = socket.create_connection(w.source.address)
    slow.sendall(b"<13>1 - h half a mess")  # never finished
    flood = socket.create_connection(w.source.address)
    flood.sendall(b"<13>" + b"y" * 100_000)  # no newline: cut into bounded events
    send_tcp(w.source.address, b"<13>1 - h quick\n")
    got = collect(w, 1 + 1000)
    assert any(e.body == b"quick" for e in got)
    assert all(len(e.body) <= 100 for e in got)
    slow.close()
    flood.close()
    wait_until(lambda: w.source.counters.values["OpenConnectionCount"] == 0, what="connections closed")
    assert b"half a mess" in [e.body for e in w.take()]  # delivered at the clean close


def test_syslogtcp_full_channel_waits_and_loses_nothing(wire: Callable[..., Wired]) -> None:
    w = wire(SyslogTcpSource, {"host": "127.0.0.1", "port": "0"}, capacity=10, transaction_capacity=10)
    w.source.start()
    send_tcp(w.source.address, b"".join(b"<13>1 - h m%d\n" % i for i in range(100)))
    got: list = []
    wait_until(lambda: got.extend(w.take()) or len(got) >= 100, what="all 100 events")
    assert [e.body for e in got] == [b"m%d" % i for i in range(100)]


def test_multiport_port_header_and_charsets(wire: Callable[..., Wired]) -> None:
    w = wire(MultiportSyslogTcpSource, {"host": "127.0.0.1", "ports": "0 0", "portHeader": "port"})
    w.source.start()
    (_, p1), (_, p2) = w.source.addresses
    assert p1 != p2
    send_tcp(("127.0.0.1", p1), R3164 + b"\n")
    send_tcp(("127.0.0.1", p2), R5424 + b"\n\xff\xfe bad\n<13>nothing\n")
    got = collect(w, 4)
    by_port = {p: [e for e in got if e.headers["port"] == str(p)] for p in (p1, p2)}
    a = by_port[p1][0]
    assert a.headers["Priority"] == "34" and a.headers["host"] == "mymachine" and "Version" not in a.headers
    b, bad, unparsed = by_port[p2]
    assert b.headers == {"Priority": "165", "Facility": "20", "Severity": "5", "Version": "1",
                         "timestamp": "1061727255000", "host": "192.0.2.1", "port": str(p2)}
    assert b.body == b"myproc 8710 - - %% It's time to make the do-nuts."
    assert bad.headers == {STATUS: INVALID, "port": str(p2)} and bad.body == b"\xff\xfe bad"
    assert unparsed.headers[STATUS] == INVALID and unparsed.body == b"<13>nothing"


def test_multiport_charset_per_port(wire: Callable[..., Wired]) -> None:
    p = free_port()
    w = wire(MultiportSyslogTcpSource, {"host": "127.0.0.1", "ports": str(p), f"charset.port.{p}": "ISO-8859-1"})
    w.source.start()
    send_tcp(("127.0.0.1", p), b"<13>1 - h caf\xe9\n")
    (e,) = collect(w, 1)
    assert e.body == b"caf\xe9" and STATUS not in e.headers


def test_multiport_bad_ports_is_a_config_error(wire: Callable[..., Wired]) -> None:
    with pytest.raises(ConfigError, match=r"a1\.sources\.r1\.ports.*'x' is not a port"):
        wire(MultiportSyslogTcpSource, {"ports": "1 x"})


def test_syslogudp_datagrams(wire: Callable[..., Wired]) -> None:
    w = started(wire, SyslogUdpSource, clientIPHeader="ip")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(R5424 + b"\n", w.source.address)
        u.sendto(b"<13>1 - h one\n<13>1 - h two", w.source.address)
        u.sendto(b"garbage", w.source.address)
        got = collect(w, 4)
    assert got[0].headers == {"Facility": "20", "Severity": "5", "priority": "165", "version": "1",
                              "timestamp": "1061727255000", "host": "192.0.2.1", "ip": "127.0.0.1"}
    assert [e.body for e in got[1:]] == [b"one", b"two", b"garbage"]
    assert got[3].headers[STATUS] == INVALID


# -- end to end through the CLI ---------------------------------------------------------------------

def _agent_conf(tmp_path: Path, source: str, out: Path) -> Path:
    return write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        {source}
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


def _output(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.iterdir()))


@pytest.mark.parametrize("kind", ["syslogtcp", "multiport_syslogtcp", "syslogudp"])
def test_agent_syslog_to_file_roll(tmp_path: Path, agent_process: type[AgentProcess], kind: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    port = free_port() if kind != "syslogudp" else _free_udp_port()
    key = "ports" if kind == "multiport_syslogtcp" else "port"
    conf = _agent_conf(tmp_path, f"""
        a1.sources.r1.type = {kind}
        a1.sources.r1.host = 127.0.0.1
        a1.sources.r1.{key} = {port}
        """, out)
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    agent.wait_for_output(rf"{kind} source r1 listening on 127\.0\.0\.1:{port}")
    n = 200
    msgs = [b"<165>1 2003-08-24T05:14:15-07:00 192.0.2.1 app - - message %d" % i for i in range(n)]
    if kind == "syslogudp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for m in msgs:
                u.sendto(m, ("127.0.0.1", port))
                time.sleep(0.0005)
    else:
        send_tcp(("127.0.0.1", port), b"".join(m + b"\n" for m in msgs))
    if kind == "multiport_syslogtcp":
        head = b"{Priority=165, Facility=20, Severity=5, Version=1, timestamp=1061727255000, host=192.0.2.1}"
    else:
        head = b"{Facility=20, Severity=5, priority=165, version=1, timestamp=1061727255000, host=192.0.2.1}"
    expected = b"".join(head + b" app - - message %d\n" % i for i in range(n))
    wait_until(lambda: _output(out).count(b"\n") >= n, timeout=20, what="events in file_roll output")
    assert agent.terminate() == 0
    assert _output(out) == expected


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_syslogtcp_tls_with_pem_keystore(wire: Callable[..., Wired], tmp_path: Path) -> None:
    import ssl
    import subprocess

    pem = tmp_path / "server.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(pem), "-out", str(pem)],
                   check=True, capture_output=True)
    w = started(wire, SyslogTcpSource, ssl="true", keystore=str(pem))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(w.source.address, timeout=10) as raw, ctx.wrap_socket(raw) as s:
        s.sendall(R5424 + b"\n")
    (e,) = collect(w, 1)
    assert e.body == b"myproc 8710 - - %% It's time to make the do-nuts."
    # a plain-text client fails its handshake without hurting the source
    send_tcp(w.source.address, b"<13>1 - h not tls\n")
    with socket.create_connection(w.source.address, timeout=10) as raw, ctx.wrap_socket(raw) as s:
        s.sendall(b"<13>1 - h again\n")
    assert [x.body for x in collect(w, 1)] == [b"again"]
