"""flumepy.net: the TCP server and UDP receiver the network sources share, over real sockets."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flumepy.core.errors import FlumeError
from flumepy.net import Datagram, Serve, TcpServer, UdpReceiver, bind_udp, listen_tcp, peer_headers
from flumepy.tls import server_context
from tests.sources.test_avro import make_cert
from tests.util import wait_until


def _counters() -> dict[str, int]:
    return {"OpenConnectionCount": 0, "GenericProcessingFail": 0, "EventReadFail": 0}


class Echo:
    """serve(): answers each line with ``<local port> <line>``; ``bye`` ends the connection."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served = 0

    def __call__(self, sock: socket.socket, peer: tuple[str, int], local_port: int) -> None:
        with self.lock:
            self.served += 1
        with sock.makefile("rb") as f:
            for line in f:
                if line == b"bye\n":
                    break
                if line == b"boom\n":
                    raise RuntimeError("boom requested")
                sock.sendall(b"%d %s" % (local_port, line))


@pytest.fixture
def servers() -> Iterator[list[TcpServer]]:
    made: list[TcpServer] = []
    yield made
    for s in made:
        s.close()


def _connect(addr: tuple[str, int]) -> socket.socket:
    return socket.create_connection(addr, timeout=10)


def _ask(c: socket.socket, line: bytes) -> bytes:
    c.sendall(line)
    out = b""
    while not out.endswith(b"\n"):
        got = c.recv(1024)
        if not got:
            break
        out += got
    return out


def test_serves_each_port_and_counts_open_connections(servers: list[TcpServer]) -> None:
    counters, echo = _counters(), Echo()
    server = TcpServer("test server", echo, counters, threading.Lock())
    servers.append(server)
    server.listen("127.0.0.1", [0, 0])
    (_, p1), (_, p2) = server.addresses
    a, b = _connect(("127.0.0.1", p1)), _connect(("127.0.0.1", p2))
    assert _ask(a, b"one\n") == b"%d one\n" % p1
    assert _ask(b, b"two\n") == b"%d two\n" % p2
    assert counters["OpenConnectionCount"] == 2 and server.connection_count() == 2
    a.sendall(b"bye\n")
    wait_until(lambda: counters["OpenConnectionCount"] == 1, what="one connection closed")
    assert a.recv(10) == b""  # the server closed it
    b.close()
    wait_until(lambda: counters["OpenConnectionCount"] == 0, what="both connections closed")
    assert counters["GenericProcessingFail"] == 0


def test_error_in_serve_closes_that_connection_only(servers: list[TcpServer],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    counters = _counters()
    server = TcpServer("test server", Echo(), counters, threading.Lock())
    servers.append(server)
    server.listen("127.0.0.1", [0])
    good, bad = _connect(server.addresses[0]), _connect(server.addresses[0])
    bad.sendall(b"boom\n")
    assert bad.recv(10) == b""
    wait_until(lambda: counters["GenericProcessingFail"] == 1, what="the failure counted")
    assert any("test server: error serving 127.0.0.1:" in r.getMessage() for r in caplog.records)
    assert _ask(good, b"still\n").endswith(b" still\n")
    good.close()


def test_admit_refuses_a_client_before_serving_it(servers: list[TcpServer]) -> None:
    echo, refused = Echo(), []

    def admit(peer: tuple[str, int]) -> bool:
        refused.append(peer)
        return len(refused) > 1  # the first client is refused

    opened: list[int] = []
    server = TcpServer("test server", echo, admit=admit, on_connections=opened.append)
    servers.append(server)
    server.listen("127.0.0.1", [0])
    first = _connect(server.addresses[0])
    assert first.recv(10) == b""
    second = _connect(server.addresses[0])
    assert _ask(second, b"hi\n").endswith(b" hi\n")
    second.close()
    wait_until(lambda: opened == [1, 0], what="on_connections heard the open and the close")
    assert echo.served == 1


class _Capped(TcpServer):
    MAX_CONNECTIONS = 2


def _capped(servers: list[TcpServer], what: str, serve: Serve | None, counters: dict[str, int],
            **kw: Any) -> TcpServer:
    """A listening server that serves at most two connections at a time."""
    server = _Capped(what, serve, counters, threading.Lock(), **kw)
    servers.append(server)
    server.listen("127.0.0.1", [0])
    return server


def _wait_cap_warning(caplog: pytest.LogCaptureFixture, what: str) -> None:
    wait_until(lambda: any(f"{what}: 2 connections open, new clients wait until one closes" in r.getMessage()
                           for r in caplog.records), what="the cap warning")


def test_clients_beyond_the_cap_wait_in_the_backlog(servers: list[TcpServer],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="flumepy.net")
    counters, echo = _counters(), Echo()
    server = _capped(servers, "capped server", echo, counters)
    a, b = _connect(server.addresses[0]), _connect(server.addresses[0])
    assert _ask(a, b"a\n").endswith(b" a\n") and _ask(b, b"b\n").endswith(b" b\n")
    waiting = _connect(server.addresses[0])  # the kernel completes the handshake; nobody serves it yet
    waiting.sendall(b"c\n")
    _wait_cap_warning(caplog, "capped server")
    assert echo.served == 2 and counters["OpenConnectionCount"] == 2
    a.close()
    got = b""
    while not got.endswith(b"\n"):
        got += waiting.recv(100)
    assert got.endswith(b" c\n")  # served once a slot was free
    assert echo.served == 3


def test_close_ends_reads_but_lets_a_busy_handler_answer(servers: list[TcpServer]) -> None:
    busy, release = threading.Event(), threading.Event()

    def serve(sock: socket.socket, peer: tuple[str, int], local_port: int) -> None:
        sock.recv(100)
        busy.set()
        release.wait(10)  # e.g. a channel put in progress when the agent stops
        sock.sendall(b"FAILED: stopping\n")
        assert sock.recv(100) == b""  # reads end at close()

    counters = _counters()
    server = TcpServer("test server", serve, counters, threading.Lock())
    servers.append(server)
    server.listen("127.0.0.1", [0])
    c = _connect(server.addresses[0])
    c.sendall(b"x\n")
    busy.wait(10)
    closer = threading.Thread(target=server.close)
    closer.start()
    wait_until(lambda: server.stopping.is_set(), what="close() started")
    release.set()
    closer.join(10)
    assert not closer.is_alive()
    assert c.recv(100) == b"FAILED: stopping\n"
    assert counters == {"OpenConnectionCount": 0, "GenericProcessingFail": 0, "EventReadFail": 0}
    with pytest.raises(OSError):
        _connect(server.addresses[0])  # the listener is gone


def test_tls_handshake_failure_is_logged_and_others_keep_flowing(servers: list[TcpServer], tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    pem, _, ca = make_cert(tmp_path)
    ctx = server_context({"ssl": True, "keystore": str(pem), "exclude-protocols": ["SSLv3"]}, "test server")
    assert ctx is not None
    server = TcpServer("tls server", Echo(), _counters(), threading.Lock(), ssl_context=ctx)
    servers.append(server)
    server.listen("127.0.0.1", [0])
    plain = _connect(server.addresses[0])
    plain.sendall(b"not a TLS hello\n" * 10)
    wait_until(lambda: any("tls server: TLS handshake with 127.0.0.1:" in r.getMessage() for r in caplog.records),
               what="the handshake failure logged")
    client = ssl.create_default_context(cafile=str(ca))
    client.check_hostname = False
    with client.wrap_socket(_connect(server.addresses[0])) as s:
        assert _ask(s, b"secret\n").endswith(b" secret\n")
    plain.close()


def test_listen_errors_name_the_address_and_free_the_ports(servers: list[TcpServer]) -> None:
    taken = listen_tcp("127.0.0.1", 0, "other")
    port = taken.getsockname()[1]
    first = listen_tcp("127.0.0.1", 0, "probe")
    free = first.getsockname()[1]
    first.close()
    try:
        server = TcpServer("test server", Echo())
        with pytest.raises(FlumeError, match=rf"test server: cannot listen on 127\.0\.0\.1:{port}: Address already"):
            server.listen("127.0.0.1", [free, port])
        assert server.listeners == [] and server.addresses == []
        listen_tcp("127.0.0.1", free, "again").close()  # the first port was let go
        with pytest.raises(FlumeError, match=r"test server: cannot resolve host 'no-such-host\.invalid'"):
            TcpServer("test server", Echo()).listen("no-such-host.invalid", [0], host_key="host")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
            held.bind(("127.0.0.1", port))
            with pytest.raises(FlumeError, match=rf"udp: cannot listen on 127\.0\.0\.1:{port}: Address already"):
                bind_udp("127.0.0.1", port, "udp")
    finally:
        taken.close()


def test_peer_headers() -> None:
    assert peer_headers(("127.0.0.1", 5), None, None) == {}
    assert peer_headers(("127.0.0.1", 5), "ip", None) == {"ip": "127.0.0.1"}
    got = peer_headers(("127.0.0.1", 5), "ip", "host")
    assert got["ip"] == "127.0.0.1" and got["host"]  # a name, or the address when reverse DNS has none


def test_udp_receiver_hands_over_batches_and_survives_handler_errors(caplog: pytest.LogCaptureFixture) -> None:
    got: list[list[Datagram]] = []
    lock = threading.Lock()

    def handle(datagrams: list[Datagram], stopping: threading.Event) -> None:
        assert not stopping.is_set()
        if any(d == b"boom" for d, _ in datagrams):
            raise RuntimeError("boom requested")
        with lock:
            got.append(datagrams)

    counters = _counters()
    rx = UdpReceiver("udp test", handle, counters, batch=3)
    rx.open("127.0.0.1", 0)
    assert rx.address is not None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(b"boom", rx.address)
            wait_until(lambda: counters["GenericProcessingFail"] == 1, what="the handler error counted")
            assert any("udp test: error receiving datagrams" in r.getMessage() for r in caplog.records)
            for i in range(10):
                tx.sendto(b"d%d" % i, rx.address)
            wait_until(lambda: sum(len(b) for b in got) == 10, what="ten datagrams handed over")
            me = ("127.0.0.1", tx.getsockname()[1])
        assert all(1 <= len(b) <= 3 for b in got)
        assert [d for b in got for d in b] == [(b"d%d" % i, me) for i in range(10)]
    finally:
        rx.close()
    assert counters["GenericProcessingFail"] == 1 and counters["EventReadFail"] == 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(rx.address)  # the port was let go


# -- stream mode: one thread reads every connection ------------------------------------------------------
class Lines:
    """A Stream factory recording, per peer, the bytes fed and whether end() came; ``stop`` in the
    data makes feed() return False, ``boom`` raises."""

    def __init__(self) -> None:
        self.got: dict[int, bytes] = {}
        self.ended: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, peer: tuple[str, int], local_port: int) -> Lines.One:
        self.got[peer[1]] = b""
        return Lines.One(self, peer[1])

    class One:
        def __init__(self, owner: Lines, port: int) -> None:
            self.owner, self.port = owner, port

        def feed(self, data: bytes) -> bool:
            self.owner.threads.add(threading.current_thread().name)
            self.owner.got[self.port] += data
            if b"boom" in data:
                raise RuntimeError("boom requested")
            return b"stop" not in data

        def end(self) -> None:
            self.owner.ended.append(self.port)


def _port_of(c: socket.socket) -> int:
    return int(c.getsockname()[1])


def test_stream_mode_reads_every_connection_in_one_thread(servers: list[TcpServer]) -> None:
    counters, lines = _counters(), Lines()
    server = TcpServer("stream server", None, counters, threading.Lock(), stream=lines)
    servers.append(server)
    server.listen("127.0.0.1", [0, 0])
    clients = [_connect(addr) for addr in server.addresses for _ in range(2)]
    ports = [_port_of(c) for c in clients]
    wait_until(lambda: counters["OpenConnectionCount"] == 4, what="four connections")
    for i, c in enumerate(clients):
        c.sendall(b"first %d\n" % i)
    for i, c in enumerate(clients):
        c.sendall(b"second %d\n" % i)  # interleaved across connections, in order within each
    wait_until(lambda: all(lines.got[p].endswith(b"second %d\n" % i) for i, p in enumerate(ports)),
               what="every connection's bytes")
    assert [lines.got[p] for p in ports] == [b"first %d\nsecond %d\n" % (i, i) for i in range(4)]
    assert lines.threads == {"stream server-read"}
    clients[0].sendall(b"tail without newline")
    clients[0].close()
    wait_until(lambda: lines.ended == [ports[0]], what="end() for the closed connection")
    assert lines.got[ports[0]].endswith(b"tail without newline")
    wait_until(lambda: counters["OpenConnectionCount"] == 3, what="the count to drop")
    server.close()  # end() for the others too: what they hold is handed on
    assert sorted(lines.ended) == sorted(ports)
    assert counters == {"OpenConnectionCount": 0, "GenericProcessingFail": 0, "EventReadFail": 0}


def test_stream_mode_feed_false_or_an_error_closes_that_connection_only(
        servers: list[TcpServer], caplog: pytest.LogCaptureFixture) -> None:
    counters, lines = _counters(), Lines()
    server = TcpServer("stream server", None, counters, threading.Lock(), stream=lines)
    servers.append(server)
    server.listen("127.0.0.1", [0])
    good, stopper, bad = (_connect(server.addresses[0]) for _ in range(3))
    stopper.sendall(b"stop\n")
    assert stopper.recv(10) == b""  # closed by the server
    bad.sendall(b"boom\n")
    assert bad.recv(10) == b""
    wait_until(lambda: counters["GenericProcessingFail"] == 1, what="the failure counted")
    assert any("stream server: error serving 127.0.0.1:" in r.getMessage() for r in caplog.records)
    good.sendall(b"still here\n")
    wait_until(lambda: lines.got[_port_of(good)] == b"still here\n", what="the good connection's bytes")
    assert counters["OpenConnectionCount"] == 1


def test_stream_mode_with_tls_gives_each_connection_a_thread(servers: list[TcpServer], tmp_path: Path) -> None:
    pem, _, ca = make_cert(tmp_path)
    ctx = server_context({"ssl": True, "keystore": str(pem), "exclude-protocols": ["SSLv3"]}, "test server")
    assert ctx is not None
    lines = Lines()
    server = TcpServer("tls stream server", None, stream=lines, ssl_context=ctx)
    servers.append(server)
    server.listen("127.0.0.1", [0])
    client_ctx = ssl.create_default_context(cafile=str(ca))
    client_ctx.check_hostname = False
    with client_ctx.wrap_socket(_connect(server.addresses[0])) as c:
        c.sendall(b"secret line\n")
        port = _port_of(c)
        wait_until(lambda: lines.got.get(port) == b"secret line\n", what="the decrypted bytes")
    wait_until(lambda: lines.ended == [port], what="end() after the client closed")
    assert lines.threads != {"tls stream server-read"}  # a connection thread, not the read loop


def test_stream_mode_clients_beyond_the_cap_wait_in_the_backlog(servers: list[TcpServer],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="flumepy.net")
    counters, lines = _counters(), Lines()
    server = _capped(servers, "capped stream server", None, counters, stream=lines)
    a, b = _connect(server.addresses[0]), _connect(server.addresses[0])
    wait_until(lambda: counters["OpenConnectionCount"] == 2, what="two connections")
    waiting = _connect(server.addresses[0])
    waiting.sendall(b"c\n")
    _wait_cap_warning(caplog, "capped stream server")
    assert len(lines.got) == 2
    a.close()
    port = _port_of(waiting)
    wait_until(lambda: lines.got.get(port) == b"c\n", what="the waiting client served once a slot was free")
    b.close()
