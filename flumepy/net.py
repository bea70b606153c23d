"""Socket servers shared by the network sources: TCP listeners, a UDP receiver.

The sources keep what they do with the bytes (their per-connection or per-datagram code); what is
here is binding, accepting, the cap on open connections, the TLS handshake, the stop flag and a
clean close, written once.
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Protocol

from flumepy.core.errors import FlumeError

log = logging.getLogger(__name__)

Peer = tuple[str, int]
Datagram = tuple[bytes, Peer]
# serve(sock, peer, local_port): one client, in its own thread; the server closes the socket afterwards.
Serve = Callable[[socket.socket, Peer, int], None]
# handle(datagrams, stopping): the datagrams read in one go (at most ``batch``); stopping is set on close.
HandleDatagrams = Callable[[list[Datagram], threading.Event], None]

MAX_DATAGRAM = 1 << 16
RECV_SIZE = 1 << 16  # bytes asked of a TCP connection per read


class Stream(Protocol):
    """What a source does with one TCP connection's bytes (see :class:`TcpServer`'s ``stream``)."""

    def feed(self, data: bytes) -> bool:
        """The next bytes read; False closes the connection (e.g. delivery failed while stopping)."""

    def end(self) -> None:
        """The peer closed (or the server stops): hand on what is still held (an unterminated line)."""


OpenStream = Callable[[Peer, int], Stream]
UDP_RCVBUF = 4 << 20


def _bound(host: str, port: int, what: str, host_key: str, kind: socket.SocketKind) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=kind, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise FlumeError(f"{what}: cannot resolve {host_key} {host!r}: {e}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == socket.SOCK_DGRAM:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
            except OSError:
                pass
        sock.bind(addr)
        if kind == socket.SOCK_STREAM:
            sock.listen(128)
    except OSError as e:
        sock.close()
        raise FlumeError(f"{what}: cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def listen_tcp(host: str, port: int, what: str, host_key: str = "bind address") -> socket.socket:
    """A listening TCP socket on host:port (SO_REUSEADDR, backlog 128).

    Errors are FlumeErrors naming ``what`` (e.g. "netcat source r1"), the address and the reason.
    """
    return _bound(host, port, what, host_key, socket.SOCK_STREAM)


def bind_udp(host: str, port: int, what: str, host_key: str = "bind address") -> socket.socket:
    """A UDP socket bound to host:port (SO_REUSEADDR, a 4 MiB receive buffer when the kernel allows).

    Errors are FlumeErrors worded as :func:`listen_tcp`'s.
    """
    return _bound(host, port, what, host_key, socket.SOCK_DGRAM)


def hostname(ip: str) -> str:
    """The peer's host name by reverse DNS, or the address itself (as Java's getHostName())."""
    try:
        return socket.gethostbyaddr(ip)[0]
    except OSError:
        return ip


def peer_headers(peer: Peer, ip_header: str | None, host_header: str | None) -> dict[str, str]:
    """Flume's clientIPHeader / clientHostnameHeader values for one peer (reverse DNS once)."""
    out: dict[str, str] = {}
    if ip_header:
        out[ip_header] = peer[0]
    if host_header:
        out[host_header] = hostname(peer[0])
    return out


def _shutdown(conn: socket.socket, how: int) -> None:
    """``conn.shutdown(how)``, ignoring a socket the peer or its handler already closed."""
    try:
        conn.shutdown(how)
    except OSError:
        pass


class TcpServer:
    """Listeners on one or more ports and a cap on open connections, served one of two ways.

    ``serve(sock, peer, local_port)`` runs in the connection's own thread, after the TLS handshake
    when ``ssl_context`` is set; the server closes the socket when it returns.  Or ``stream(peer,
    local_port)`` makes a :class:`Stream` per connection that the server feeds what it reads: without
    TLS, one thread reads every connection of the server (a selector over non-blocking sockets), so
    busy clients mean one busy Python thread instead of one each fighting for the GIL (syslogtcp with
    4 connections: the sink no longer waits behind four parsing threads; throughput +3%, within the
    noise of this machine); with TLS each connection gets a thread as with ``serve``.  A stream's
    ``feed`` may block (a full channel): the other connections then wait too, as TCP backpressure.
    An exception out of ``serve`` or a stream is logged (and counted as GenericProcessingFail when
    ``counters`` is given).  With
    ``counters`` the server also keeps OpenConnectionCount, under ``lock`` (the owner's counter
    lock).  ``on_connections(n)`` hears the number of open connections after each change.
    ``admit(peer)`` may refuse a client before a thread is started for it.  At most
    ``MAX_CONNECTIONS`` are open; later clients wait in the listen backlog.
    """

    MAX_CONNECTIONS = 1024
    POLL = 0.25  # seconds between checks of the stop flag
    HANDSHAKE_TIMEOUT = 10.0

    def __init__(self, what: str, serve: Serve | None = None, counters: dict[str, int] | None = None,
                 lock: threading.Lock | None = None, *, stream: OpenStream | None = None,
                 ssl_context: ssl.SSLContext | None = None, nodelay: bool = False,
                 admit: Callable[[Peer], bool] | None = None,
                 on_connections: Callable[[int], None] | None = None) -> None:
        if (serve is None) == (stream is None):
            raise ValueError("TcpServer needs exactly one of serve and stream")
        self.what = what
        self.serve = serve
        self.stream = stream
        self.counters = counters
        self.lock = lock or threading.Lock()
        self.ssl_context = ssl_context
        self.nodelay = nodelay
        self.admit = admit
        self.on_connections = on_connections
        self.stopping = threading.Event()
        self.listeners: list[socket.socket] = []
        self.addresses: list[Peer] = []
        self._thread: threading.Thread | None = None
        self._conns: dict[socket.socket, threading.Thread | None] = {}  # None: served by the read loop
        self._slots = threading.BoundedSemaphore(self.MAX_CONNECTIONS)

    def listen(self, host: str | None, ports: list[int], host_key: str = "bind address") -> None:
        """Open a listener on each port (all interfaces when host is unset) and start accepting."""
        bind = host or "0.0.0.0"
        try:
            for p in ports:
                sock = listen_tcp(bind, p, self.what, host_key)
                sock.setblocking(False)
                self.listeners.append(sock)
                self.addresses.append(sock.getsockname()[:2])
        except BaseException:
            for s in self.listeners:
                s.close()
            self.listeners, self.addresses = [], []
            raise
        self.stopping.clear()
        if self.stream is not None and self.ssl_context is None:
            self._thread = threading.Thread(target=self._read_loop, name=f"{self.what}-read", daemon=True)
        else:
            self._thread = threading.Thread(target=self._accept_loop, name=f"{self.what}-accept", daemon=True)
        self._thread.start()

    def connection_count(self) -> int:
        with self.lock:
            return len(self._conns)

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, then end the connections: reads first, so a handler busy with a batch can
        still answer its client; after ``timeout / 2`` the sockets are shut down both ways."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for s in self.listeners:
            s.close()
        self.listeners = []
        with self.lock:
            conns = dict(self._conns)
        for conn, thread in conns.items():
            if thread is not None:
                _shutdown(conn, socket.SHUT_RD)
        for thread in conns.values():
            if thread is not None:
                thread.join(timeout / 2)
        for conn, thread in conns.items():
            if thread is not None and thread.is_alive():
                _shutdown(conn, socket.SHUT_RDWR)
                thread.join(timeout / 2)
                if thread.is_alive():
                    log.warning("%s: connection thread %s did not stop", self.what, thread.name)

    def _accept_loop(self) -> None:
        sel = selectors.DefaultSelector()
        for s in self.listeners:
            sel.register(s, selectors.EVENT_READ)
        warned = False
        try:
            while not self.stopping.is_set():
                if not self._slots.acquire(timeout=self.POLL):
                    if not warned:
                        self._warn_full()
                        warned = True
                    continue
                warned = False
                ready = sel.select(self.POLL)
                if not ready:
                    self._slots.release()
                    continue
                listener: socket.socket = ready[0][0].fileobj  # type: ignore[assignment]
                client = self._accept(listener)
                if client is None:
                    self._slots.release()
                    continue
                self._start_conn(*client, listener.getsockname()[1])
        finally:
            sel.close()

    def _accept(self, listener: socket.socket) -> tuple[socket.socket, Peer] | None:
        """The next client ``admit`` lets in, its socket set up; None when there was none (or it was
        refused, or accept failed: logged unless stopping)."""
        try:
            conn, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            if not self.stopping.is_set():
                log.warning("%s: accept failed: %s", self.what, e)
                self.stopping.wait(0.1)
            return None
        if self.admit is not None and not self.admit(peer):
            conn.close()
            return None
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # half-open peers eventually drop
        if self.nodelay:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, peer

    def _warn_full(self) -> None:
        log.warning("%s: %d connections open, new clients wait until one closes", self.what, self.MAX_CONNECTIONS)

    # -- one thread reading every connection ---------------------------------------------------------
    def _read_loop(self) -> None:
        sel = selectors.DefaultSelector()
        conns: dict[socket.socket, tuple[Stream, Peer]] = {}
        listening = False

        def listen(on: bool) -> None:
            nonlocal listening
            if on != listening:
                for s in self.listeners:
                    if on:
                        sel.register(s, selectors.EVENT_READ, None)
                    else:
                        sel.unregister(s)
                listening = on

        listen(True)
        try:
            while not self.stopping.is_set():
                for key, _ in sel.select(self.POLL):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    if key.data is None:
                        self._accept_stream(sel, sock, conns)
                        if len(conns) >= self.MAX_CONNECTIONS:
                            self._warn_full()
                            listen(False)
                        continue
                    stream, peer = key.data
                    if not self._read_into(sock, stream, peer):
                        sel.unregister(sock)
                        self._end_conn(sock, peer, conns)
                        listen(True)
                    if self.stopping.is_set():
                        break
        finally:
            for sock, (stream, peer) in list(conns.items()):  # stopping: what each connection holds goes on
                self._guard(stream.end, peer)
                self._end_conn(sock, peer, conns)
            sel.close()

    def _accept_stream(self, sel: selectors.BaseSelector, listener: socket.socket,
                       conns: dict[socket.socket, tuple[Stream, Peer]]) -> None:
        client = self._accept(listener)
        if client is None:
            return
        conn, peer = client
        assert self.stream is not None
        try:
            stream = self.stream(peer, listener.getsockname()[1])
        except Exception:
            conn.close()
            self._count_failure()
            log.exception("%s: cannot serve %s:%s", self.what, peer[0], peer[1])
            return
        conn.setblocking(False)
        conns[conn] = (stream, peer)
        sel.register(conn, selectors.EVENT_READ, (stream, peer))
        self._opened(conn, peer, None)

    def _read_into(self, sock: socket.socket, stream: Stream, peer: Peer) -> bool:
        """One read of a ready connection into its stream; False when the connection is done."""
        try:
            data = sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as e:
            log.debug("%s: %s:%s read failed: %s", self.what, peer[0], peer[1], e)
            return False
        if not data:
            self._guard(stream.end, peer)
            return False
        return self._guard(lambda: stream.feed(data), peer) is True

    def _guard(self, fn: Callable[[], object], peer: Peer) -> object:
        try:
            return fn()
        except Exception:
            self._serve_failed(peer)
            return False

    def _serve_failed(self, peer: Peer) -> None:
        """Serving ``peer`` raised (call in the except block): counted and logged with the traceback."""
        self._count_failure()
        log.exception("%s: error serving %s:%s", self.what, peer[0], peer[1])

    def _count_failure(self) -> None:
        if self.counters is not None:
            with self.lock:
                self.counters["GenericProcessingFail"] += 1

    def _end_conn(self, sock: socket.socket, peer: Peer, conns: dict[socket.socket, tuple[Stream, Peer]]) -> None:
        conns.pop(sock, None)
        sock.close()
        self._closed(sock, peer)

    # -- a thread per connection -------------------------------------------------------------------
    def _start_conn(self, conn: socket.socket, peer: Peer, local_port: int) -> None:
        conn.setblocking(True)
        thread = threading.Thread(target=self._run, args=(conn, peer, local_port),
                                  name=f"{self.what}-{peer[0]}:{peer[1]}", daemon=True)
        with self.lock:
            if self.stopping.is_set():
                conn.close()
                self._slots.release()
                return
        self._opened(conn, peer, thread)
        thread.start()

    def _opened(self, conn: socket.socket, peer: Peer, thread: threading.Thread | None) -> None:
        with self.lock:
            self._conns[conn] = thread
            n = len(self._conns)
            if self.counters is not None:
                self.counters["OpenConnectionCount"] += 1
        if self.on_connections is not None:
            self.on_connections(n)
        log.debug("%s: connection from %s:%s", self.what, peer[0], peer[1])

    def _closed(self, conn: socket.socket, peer: Peer) -> None:
        with self.lock:
            self._conns.pop(conn, None)
            n = len(self._conns)
            if self.counters is not None:
                self.counters["OpenConnectionCount"] -= 1
        if self.on_connections is not None:
            self.on_connections(n)
        log.debug("%s: connection from %s:%s closed", self.what, peer[0], peer[1])

    def _run(self, conn: socket.socket, peer: Peer, local_port: int) -> None:
        sock = conn
        try:
            if self.ssl_context is not None:
                conn.settimeout(self.HANDSHAKE_TIMEOUT)
                try:
                    sock = self.ssl_context.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    log.warning("%s: TLS handshake with %s:%s failed: %s", self.what, peer[0], peer[1], e)
                    return
                sock.settimeout(None)
            if self.serve is not None:
                self.serve(sock, peer, local_port)
            else:  # a stream on its own thread (TLS): read until the peer closes or feed says stop
                assert self.stream is not None
                stream = self.stream(peer, local_port)
                while self._read_into(sock, stream, peer):
                    pass
        except Exception:
            self._serve_failed(peer)
        finally:
            sock.close()
            conn.close()
            self._slots.release()
            self._closed(conn, peer)


class UdpReceiver:
    """A bound UDP socket and one thread that reads the datagrams waiting together and hands them over.

    ``handle(datagrams, stopping)`` gets at most ``batch`` datagrams per call (set ``batch`` before
    :meth:`open`).  A failed ``recvfrom`` is logged and counted as EventReadFail; an exception out of
    ``handle`` is logged, counted as GenericProcessingFail, and the loop goes on after a second.
    """

    POLL = 0.25  # seconds between checks of the stop flag

    def __init__(self, what: str, handle: HandleDatagrams, counters: dict[str, int], batch: int = 100) -> None:
        self.what = what
        self.handle = handle
        self.counters = counters
        self.batch = batch
        self.stopping = threading.Event()
        self.address: Peer | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def open(self, host: str | None, port: int, host_key: str = "bind address") -> None:
        """Bind host:port (all interfaces when host is unset) and start receiving."""
        sock = bind_udp(host or "0.0.0.0", port, self.what, host_key)
        sock.setblocking(False)
        self._sock = sock
        self.address = sock.getsockname()[:2]
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(sock,), name=f"{self.what}-receiver", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: receiver thread did not stop within %.1fs", self.what, timeout)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _run(self, sock: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        try:
            while not self.stopping.is_set():
                try:
                    if sel.select(self.POLL):
                        datagrams = self._read(sock)
                        if datagrams:
                            self.handle(datagrams, self.stopping)
                except Exception:
                    log.exception("%s: error receiving datagrams", self.what)
                    self.counters["GenericProcessingFail"] += 1  # after the log: a reader of the count finds it
                    self.stopping.wait(1.0)
        finally:
            sel.close()

    def _read(self, sock: socket.socket) -> list[Datagram]:
        """Every datagram already waiting, up to ``batch``."""
        out: list[Datagram] = []
        while len(out) < self.batch:
            try:
                out.append(sock.recvfrom(MAX_DATAGRAM))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                log.warning("%s: receive failed: %s", self.what, e)
                self.counters["EventReadFail"] += 1
                break
        return out
