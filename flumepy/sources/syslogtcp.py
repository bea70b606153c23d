"""Type ``syslogtcp``: Flume's SyslogTcpSource — syslog messages over TCP, parsed into Flume's headers.

Keys (Flume 1.11):

====================  ======  =========  ========================================================
key                   type    default    meaning
====================  ======  =========  ========================================================
host                  string  0.0.0.0    Address to listen on.
port                  int     required   Port to listen on (0 picks a free one; the log shows it).
eventSize             int     2500       Longest message in bytes; longer ones are cut (Incomplete).
keepFields            string  none       all / none, or a list of priority version timestamp hostname
                                         to keep at the front of the body.
clientIPHeader        string  (none)     Header that receives the client's IP address.
clientHostnameHeader  string  (none)     Header that receives the client's host name (reverse DNS).
framing               string  auto       flumepy: ``auto`` also accepts RFC 6587 octet counting
                                         (``LEN SP MSG``); ``newline`` only splits on ``\\n``.
ssl, keystore...      -       false      TLS (see flumepy.tls).
format.*              -       -          Custom date formats: accepted, ignored (warning).
====================  ======  =========  ========================================================

Headers and bodies are those of Flume's SyslogUtils (see :mod:`flumepy.syslog`).  Messages that
arrive together are delivered in one batch (Flume puts them one by one); when the channel is full
the connection waits (TCP backpressure) until the batch commits.  A connection is served by its own
thread; at most ``MAX_CONNECTIONS`` are open, later clients wait in the listen backlog.  An
unterminated last message is delivered when the client closes the connection cleanly.
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
from collections.abc import Callable

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import DEFAULT_BATCH, channel_batch_limit, deliver
from flumepy.core.event import Event
from flumepy.net import listen_tcp
from flumepy.syslog import DEFAULT_EVENT_SIZE, INVALID, STATUS, BulkParser, StreamSplitter, SyslogParser, keep_fields
from flumepy.tls import SSL_PROPS, server_context

log = logging.getLogger(__name__)

RECV_SIZE = 1 << 16

COMMON_PROPS = (
    Prop("host", "string", None, "Address to listen on (all interfaces when unset)."),
    Prop("eventSize", "int", DEFAULT_EVENT_SIZE, "Longest message in bytes; longer ones are cut and "
         "flagged flume.syslog.status=Incomplete.", min=1),
    Prop("keepFields", "string", "none", "all, none, or priority/version/timestamp/hostname to keep in the body."),
    Prop("clientIPHeader", "string", None, "Header that receives the client's IP address."),
    Prop("clientHostnameHeader", "string", None, "Header that receives the client's host name."),
    Prop("format.", "string", None, "Custom timestamp formats (regex, search, replace, dateFormat).",
         prefix=True),
)


class TcpServer:
    """Listeners on one or more ports, one thread per connection, a cap on open connections."""

    MAX_CONNECTIONS = 1024
    POLL = 0.25
    HANDSHAKE_TIMEOUT = 10.0

    def __init__(self, what: str, serve: Callable[[socket.socket, tuple[str, int], int], None],
                 counters: dict[str, int], lock: threading.Lock) -> None:
        self.what = what
        self.serve = serve
        self.counters = counters
        self.lock = lock
        self.stopping = threading.Event()
        self.listeners: list[socket.socket] = []
        self.addresses: list[tuple[str, int]] = []
        self.ssl_context: ssl.SSLContext | None = None
        self._thread: threading.Thread | None = None
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._slots = threading.BoundedSemaphore(self.MAX_CONNECTIONS)

    def listen(self, host: str | None, ports: list[int]) -> None:
        bind = host or "0.0.0.0"
        try:
            for p in ports:
                sock = listen_tcp(bind, p, self.what, host_key="host")
                sock.setblocking(False)
                self.listeners.append(sock)
                self.addresses.append(sock.getsockname()[:2])
        except BaseException:
            for s in self.listeners:
                s.close()
            self.listeners, self.addresses = [], []
            raise
        self.stopping.clear()
        self._thread = threading.Thread(target=self._accept_loop, name=f"{self.what}-accept", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for s in self.listeners:
            s.close()
        self.listeners = []
        with self.lock:
            conns = dict(self._conns)
        for conn in conns:
            _shutdown(conn, socket.SHUT_RD)
        for conn, thread in conns.items():
            thread.join(timeout / 2)
            if thread.is_alive():
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
                        log.warning("%s: %d connections open, new clients wait until one closes",
                                    self.what, self.MAX_CONNECTIONS)
                        warned = True
                    continue
                warned = False
                ready = sel.select(self.POLL)
                if not ready:
                    self._slots.release()
                    continue
                key = ready[0][0]
                listener: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    conn, peer = listener.accept()
                except (BlockingIOError, InterruptedError):
                    self._slots.release()
                    continue
                except OSError as e:
                    self._slots.release()
                    if self.stopping.is_set():
                        return
                    log.warning("%s: accept failed: %s", self.what, e)
                    self.stopping.wait(0.1)
                    continue
                self._start_conn(conn, peer, listener.getsockname()[1])
        finally:
            sel.close()

    def _start_conn(self, conn: socket.socket, peer: tuple[str, int], local_port: int) -> None:
        conn.setblocking(True)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # half-open peers eventually drop
        thread = threading.Thread(target=self._run, args=(conn, peer, local_port),
                                  name=f"{self.what}-{peer[0]}:{peer[1]}", daemon=True)
        with self.lock:
            if self.stopping.is_set():
                conn.close()
                self._slots.release()
                return
            self._conns[conn] = thread
            self.counters["OpenConnectionCount"] += 1
        thread.start()

    def _run(self, conn: socket.socket, peer: tuple[str, int], local_port: int) -> None:
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
            self.serve(sock, peer, local_port)
        except Exception:
            with self.lock:
                self.counters["GenericProcessingFail"] += 1
            log.exception("%s: error serving %s:%s", self.what, peer[0], peer[1])
        finally:
            with self.lock:
                self._conns.pop(conn, None)
                self.counters["OpenConnectionCount"] -= 1
            sock.close()
            conn.close()
            self._slots.release()


def peer_headers(peer: tuple[str, int], ip_header: str | None, host_header: str | None) -> dict[str, str]:
    """Flume's clientIPHeader / clientHostnameHeader values for one peer (reverse DNS once)."""
    out: dict[str, str] = {}
    if ip_header:
        out[ip_header] = peer[0]
    if host_header:
        try:
            out[host_header] = socket.gethostbyaddr(peer[0])[0]
        except OSError:
            out[host_header] = peer[0]  # Java's getHostName() falls back to the address text
    return out


class SyslogTcpSource(EventDrivenSource):
    """Syslog over TCP: newline (and octet-counted) framing, SyslogUtils headers."""

    TYPE_NAME = "syslogtcp"
    PROPS = (
        COMMON_PROPS[0], port("port"), *COMMON_PROPS[1:],
        Prop("framing", "string", "auto", "flumepy: auto (newline or RFC 6587 octet counting) or newline.",
             choices=("auto", "newline")),
        *SSL_PROPS,
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.host: str | None = None
        self.port = 0
        self.event_size = DEFAULT_EVENT_SIZE
        self.keep: frozenset[str] = frozenset()
        self.ip_header: str | None = None
        self.host_header: str | None = None
        self.octets = True
        self.batch_limit = DEFAULT_BATCH
        self.address: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._server: TcpServer | None = None
        self._parser = SyslogParser()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self.host = (s["host"] or "").strip() or None
        self.port = s["port"]
        self.event_size = s["eventSize"]
        self.keep = keep_fields(s["keepFields"])
        self.ip_header = (s["clientIPHeader"] or "").strip() or None
        self.host_header = (s["clientHostnameHeader"] or "").strip() or None
        self.octets = s["framing"] == "auto"
        if s["format."].keys():
            ctx.warn("format.", "custom syslog timestamp formats are accepted but not implemented by flumepy")
        self._parser = SyslogParser(self.keep)

    def start(self) -> None:
        what = f"{self.TYPE_NAME} source {self.name}"
        self.batch_limit = channel_batch_limit(self)
        server = TcpServer(what, self._serve, self.counters.values, self._lock)
        server.ssl_context = server_context(self.settings, what)
        server.listen(self.host, [self.port])
        self._server = server
        self.address = server.addresses[0]
        super().start()
        log.info("%s listening on %s:%d%s", what, self.address[0], self.address[1],
                 " (TLS)" if server.ssl_context else "")

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.close(timeout)
            self._server = None
            log.info("%s source %s stopped", self.TYPE_NAME, self.name)
        if self.lifecycle == "START":
            super().stop()

    def _serve(self, conn: socket.socket, peer: tuple[str, int], local_port: int) -> None:
        server = self._server
        assert server is not None
        splitter = StreamSplitter(self.event_size, self.octets)
        extra = peer_headers(peer, self.ip_header, self.host_header)
        parse = self._parser.event
        bulk = BulkParser(self._parser, self.event_size, extra)
        recv = conn.recv
        while True:
            try:
                data = recv(RECV_SIZE)
            except (OSError, ssl.SSLError) as e:
                log.debug("%s source %s: %s:%s read failed: %s", self.TYPE_NAME, self.name, peer[0], peer[1], e)
                return
            fast: list[Event] | None = None
            if data and bulk.enabled and splitter.idle():
                # Whole lines go through the bulk parser; the rest (or everything, when it declines)
                # through the splitter, which keeps any unterminated tail for the next read.
                data = splitter.take_buffer() + data
                nl = data.rfind(b"\n") + 1
                if nl:
                    fast = bulk.parse(data[:nl])
                    if fast is not None:
                        data = data[nl:]
            messages = splitter.feed(data) if data or fast is not None else splitter.finish()
            if messages:
                events = [parse(raw, inc) for raw, inc in messages]
                if extra:
                    for ev in events:
                        ev.headers.update(extra)
                bad = sum(1 for e in events if e.headers.get(STATUS) == INVALID)
                if fast:
                    fast.extend(events)
                    events = fast
            elif fast:
                events, bad = fast, 0
            else:
                events = []
            if events and not self._deliver(events, server.stopping, peer, bad):
                return
            if not data and fast is None:
                return

    def _deliver(self, events: list[Event], stopping: threading.Event, peer: tuple[str, int],
                 bad: int | None = None) -> bool:
        if bad is None:
            bad = sum(1 for e in events if e.headers.get(STATUS) == INVALID)
        with self._lock:
            c = self.counters.values
            c["EventReceivedCount"] += len(events)
            c["EventReadFail"] += bad
        limit = self.batch_limit
        for i in range(0, len(events), limit):
            batch = events[i:i + limit]
            with self._lock:
                self.counters.values["AppendBatchReceivedCount"] += 1
            failure = deliver(self, batch, stopping, self._lock)
            if failure is not None:
                log.error("%s source %s: stopping with %d events from %s:%s not delivered: %s",
                          self.TYPE_NAME, self.name, len(events) - i, peer[0], peer[1], failure)
                return False
        return True


def _shutdown(conn: socket.socket, how: int) -> None:
    try:
        conn.shutdown(how)
    except OSError:
        pass
