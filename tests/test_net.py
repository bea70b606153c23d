"""flumepy.net: the TCP server and UDP receiver the network sources share, over real sockets."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.core.errors import FlumeError
from flumepy.net import Datagram, TcpServer, UdpReceiver, bind_udp, listen_tcp, peer_headers
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


def test_clients_beyond_the_cap_wait_in_the_backlog(servers: list[TcpServer],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="flumepy.net")

    class Small(TcpServer):
        MAX_CONNECTIONS = 2

    counters, echo = _counters(), Echo()
    server = Small("capped server", echo, counters, threading.Lock())
    servers.append(server)
    server.listen("127.0.0.1", [0])
    a, b = _connect(server.addresses[0]), _connect(server.addresses[0])
    assert _ask(a, b"a\n").endswith(b" a\n") and _ask(b, b"b\n").endswith(b" b\n")
    waiting = _connect(server.addresses[0])  # the kernel completes the handshake; nobody serves it yet
    waiting.sendall(b"c\n")
    wait_until(lambda: any("capped server: 2 connections open, new clients wait until one closes" in r.getMessage()
                           for r in caplog.records), what="the cap warning")
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
