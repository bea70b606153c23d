"""Type ``http``: Flume's HTTPSource — events POSTed over HTTP, turned into events by a handler.

Keys (Flume 1.11, plus the flumepy limits):

==============================  ======  ==========  ==============================================
key                             type    default     meaning
==============================  ======  ==========  ==============================================
port                            int     required    Port to listen on (0 picks a free one).
bind                            string  0.0.0.0     Address to listen on.
handler                         string  JSONHandler Flume class name, JSONHandler / BlobHandler /
                                                    BLOBHandler, or ``module:Class``.
handler.*                       -       -           Handler settings (e.g. handler.maxBlobLength).
ssl, keystore...                -       false       TLS (see flumepy.tls); the deprecated
                                                    enableSSL / keystorePassword / excludeProtocols too.
QueuedThreadPool.maxThreads     int     200         Most connections served at once; beyond it a
                                                    client gets a 503 and the connection is closed.
ServerConnector.idleTimeout     int     30000       ms a client has to send a whole request (headers
                                                    and body) and may stay idle between requests.
maxRequestSize                  int     33554432    flumepy: largest request body in bytes (413).
channelFullWait                 int     3000        flumepy: ms to keep retrying a full channel
                                                    before answering 503.
other Jetty bean keys           -       -           Accepted, ignored (warning).
==============================  ======  ==========  ==============================================

Answers: 200 only after the events are committed to the channels; 400 with the reason when the
handler cannot read the request (bad JSON, bad charset, missing parameter); 413 when the body is too
large or holds more events than a channel transaction; 503 when the channel stayed full; 500 when a
handler fails unexpectedly; 405 for methods other than POST and GET (Flume's GET does what POST does).
A request is all-or-nothing: its events go to the channels in one transaction.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import channel_batch_limit
from flumepy.core.errors import ChannelError, FlumeError
from flumepy.core.event import Event
from flumepy.sources.http_handlers import BadRequest, Handler, HttpRequest, load_handler
from flumepy.tls import SSL_PROPS, server_context

log = logging.getLogger(__name__)

DEFAULT_HANDLER = "org.apache.flume.source.http.JSONHandler"
_JETTY = ("QueuedThreadPool.", "HttpConfiguration.", "SslContextFactory.", "ServerConnector.")
_SUPPORTED_JETTY = {"QueuedThreadPool.maxThreads", "ServerConnector.idleTimeout"}


class HTTPSource(EventDrivenSource):
    """An HTTP server; each request's events are committed before the 200 goes back."""

    TYPE_NAME = "http"
    PROPS = (
        port("port"),
        Prop("bind", "string", "0.0.0.0", "Address to listen on."),
        Prop("handler", "string", DEFAULT_HANDLER, "Request handler: Flume class name or module:Class."),
        Prop("handler.", "string", None, "Handler settings.", prefix=True),
        *SSL_PROPS,
        Prop("enableSSL", "bool", None, "Old name of ssl.", deprecated="ssl"),
        Prop("keystorePassword", "string", None, "Old name of keystore-password.", deprecated="keystore-password"),
        Prop("excludeProtocols", "list", None, "Old name of exclude-protocols.", deprecated="exclude-protocols"),
        Prop("QueuedThreadPool.maxThreads", "int", 200, "Most connections served at once.", min=1),
        Prop("ServerConnector.idleTimeout", "int", 30000, "ms to send a whole request; idle limit between "
             "requests.", min=1),
        Prop("maxRequestSize", "int", 32 << 20, "flumepy: largest request body in bytes.", min=1),
        Prop("channelFullWait", "int", 3000, "flumepy: ms to retry a full channel before a 503.", min=0),
        *(Prop(p, "string", None, f"Jetty {p[:-1]} settings.", prefix=True) for p in _JETTY),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bind = "0.0.0.0"
        self.port = 0
        self.handler: Handler | None = None
        self.max_conns = 200
        self.idle = 30.0
        self.max_body = 32 << 20
        self.full_wait = 3.0
        self.tx_limit = 0
        self.address: tuple[str, int] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self.bind = s["bind"].strip()
        if not self.bind:
            raise ctx.error("bind", "HTTPSource hostname specified is empty")
        self.port = s["port"]
        self.handler = load_handler(s["handler"] or DEFAULT_HANDLER, ctx)
        self.max_conns = s["QueuedThreadPool.maxThreads"]
        self.idle = s["ServerConnector.idleTimeout"] / 1000.0
        self.max_body = s["maxRequestSize"]
        self.full_wait = s["channelFullWait"] / 1000.0
        for key in ctx.keys():
            if key.startswith(_JETTY) and key not in _SUPPORTED_JETTY:
                ctx.warn(key, "Jetty setting accepted but not implemented by flumepy")

    def start(self) -> None:
        what = f"http source {self.name}"
        self.tx_limit = channel_batch_limit(self, 0)
        ssl_ctx = server_context(self.settings, what)
        try:
            server = _Server((self.bind, self.port), self)
        except OSError as e:
            raise FlumeError(f"{what}: cannot listen on {self.bind}:{self.port}: {e.strerror or e}") from None
        if ssl_ctx is not None:
            server.socket = ssl_ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
            server.tls = True
        self._server = server
        address: tuple[str, int] = server.server_address[:2]  # type: ignore[assignment]
        self.address = address
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25},
                                        name=f"http-{self.name}", daemon=True)
        self._thread.start()
        server.start_reaper()
        super().start()
        log.info("%s listening on %s:%d%s", what, address[0], address[1], " (TLS)" if ssl_ctx else "")

    def stop(self, timeout: float = 5.0) -> None:
        server = self._server
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.server_close()
            server.close_all()
            if self._thread is not None:
                self._thread.join(timeout)
                self._thread = None
            self._server = None
            log.info("http source %s stopped", self.name)
        if self.lifecycle == "START":
            super().stop()

    # -- called by request threads ---------------------------------------------------------------
    def count(self, **kw: int) -> None:
        with self._lock:
            c = self.counters.values
            for k, v in kw.items():
                c[k] += v

    def put(self, events: list[Event], stopping: threading.Event) -> str | None:
        """Commit ``events`` in one batch, retrying a full channel for channelFullWait; None when done."""
        deadline = time.monotonic() + self.full_wait
        delay = 0.02
        while True:
            try:
                self.channel_processor.process_batch(events)
                return None
            except ChannelError as e:
                reason = str(e)
            left = deadline - time.monotonic()
            if left <= 0 or stopping.is_set():
                return reason
            if stopping.wait(min(delay, left)):
                return reason
            delay = min(delay * 2, 0.5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], source: HTTPSource) -> None:
        self.source = source
        self.tls = False
        self.stopping = threading.Event()
        self.slots = threading.BoundedSemaphore(source.max_conns)
        self.lingering = threading.BoundedSemaphore(32)  # refused connections being closed gracefully
        self.deadlines: dict[socket.socket, float] = {}
        self.dl_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            log.warning("http source %s: %d connections open, refusing %s", self.source.name,
                        self.source.max_conns, client_address[0])
            if self.tls or not self.lingering.acquire(blocking=False):
                self.shutdown_request(request)
                return
            threading.Thread(target=self._refuse, args=(request,), name="http-refuse", daemon=True).start()
            return
        self.source.count(OpenConnectionCount=1)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            self.source.count(OpenConnectionCount=-1)
            raise

    def _refuse(self, request: socket.socket) -> None:
        """503 to a client over the connection cap, then a lingering close: read (and drop) what the
        client is still sending for a moment, so its request does not run into a reset before it can
        read the answer."""
        try:
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                            b"Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n")
            request.shutdown(socket.SHUT_WR)
            request.settimeout(0.5)
            drained = 0
            while drained < 1 << 20 and request.recv(65536):
                drained += 65536
        except OSError:
            pass
        finally:
            request.close()
            self.lingering.release()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.dl_lock:
                self.deadlines.pop(request, None)
            self.slots.release()
            self.source.count(OpenConnectionCount=-1)

    def set_deadline(self, sock: socket.socket, seconds: float | None) -> None:
        with self.dl_lock:
            if seconds is None:
                self.deadlines.pop(sock, None)
            else:
                self.deadlines[sock] = time.monotonic() + seconds

    def start_reaper(self) -> None:
        threading.Thread(target=self._reap, name=f"http-{self.source.name}-timeouts", daemon=True).start()

    def _reap(self) -> None:
        """Close connections that take longer than idleTimeout to send a request (slowloris)."""
        tick = min(0.25, self.source.idle / 4)
        while not self.stopping.wait(tick):
            now = time.monotonic()
            with self.dl_lock:
                late = [s for s, d in self.deadlines.items() if d <= now]
                for s in late:
                    del self.deadlines[s]
            for s in late:
                log.debug("http source %s: closing a connection idle or slow for %.1fs", self.source.name,
                          self.source.idle)
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close_all(self) -> None:
        with self.dl_lock:
            socks = list(self.deadlines)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "flumepy"
    sys_version = ""

    def setup(self) -> None:
        srv = self.server
        srv.set_deadline(self.request, srv.source.idle)
        super().setup()
        if srv.tls:
            try:
                self.request.settimeout(srv.source.idle)
                self.request.do_handshake()
            except (OSError, ssl.SSLError) as e:
                log.debug("http source %s: TLS handshake failed: %s", srv.source.name, e)
                self.close_connection = True
                raise ConnectionAbortedError from e

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            pass

    def handle_one_request(self) -> None:
        self.server.set_deadline(self.request, self.server.source.idle)
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("http source %s: %s " + format, self.server.source.name, self.address_string(), *args)

    # -- methods -------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        src = self.server.source
        body = self._read_body()
        if body is None:
            return
        self.server.set_deadline(self.request, None)  # the request is in: no timeout while we work
        ctype = self.headers.get("Content-Type")
        charset = None
        if ctype:
            for part in ctype.split(";")[1:]:
                k, _, v = part.strip().partition("=")
                if k.strip().lower() == "charset":
                    charset = v.strip().strip('"') or None
        url = urlsplit(self.path)
        req = HttpRequest(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                          {k.lower(): v for k, v in self.headers.items()}, body, ctype, charset)
        assert src.handler is not None
        try:
            events = src.handler.get_events(req)
        except BadRequest as e:
            src.count(EventReadFail=1)
            log.warning("http source %s: bad request from %s: %s", src.name, self.client_address[0], e)
            self._reply(400, f"Bad request from client. {e}")
            return
        except Exception as e:  # noqa: BLE001 - a handler's failure is the client's 500
            src.count(EventReadFail=1)
            log.warning("http source %s: handler failed: %s", src.name, e, exc_info=True)
            self._reply(500, f"Deserializer threw unexpected exception. {e}")
            return
        if "truncated" in req.extra:
            log.warning("http source %s: request length %d exceeds maxBlobLength, event truncated",
                        src.name, req.extra["truncated"])
        if src.tx_limit and len(events) > src.tx_limit:
            src.count(EventReadFail=1)
            self._reply(413, f"Request holds {len(events)} events; the channel takes at most {src.tx_limit} "
                             "per transaction (transactionCapacity): send smaller batches")
            return
        src.count(AppendBatchReceivedCount=1, EventReceivedCount=len(events))
        if events:
            failure = src.put(events, self.server.stopping)
            if failure is not None:
                src.count(ChannelWriteFail=1)
                log.warning("http source %s: channel full, answering 503: %s", src.name, failure)
                self._reply(503, f"Error appending event to channel. Channel might be full. {failure}")
                return
        src.count(AppendBatchAcceptedCount=1, EventAcceptedCount=len(events))
        self._reply(200, "")

    do_GET = do_POST  # Flume's servlet: doGet calls doPost  # noqa: N815

    def _not_allowed(self) -> None:
        self._discard_body()
        self._reply(405, f"HTTP method {self.command} is not supported by this URL")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_HEAD = _not_allowed  # noqa: N815

    # -- helpers -------------------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        src = self.server.source
        limit = src.max_body
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        try:
            if "chunked" in te:
                return self._read_chunked(limit)
            length_text = self.headers.get("Content-Length")
            if length_text is None:
                return b""
            try:
                length = int(length_text)
                if length < 0:
                    raise ValueError
            except ValueError:
                self._reply(400, f"Bad request from client. Invalid Content-Length {length_text!r}", close=True)
                return None
            if length > limit:
                self._reply(413, f"Request body of {length} bytes exceeds maxRequestSize ({limit} bytes)",
                            close=True)
                return None
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True
                return None  # the client went away, or was too slow
            return body
        except (OSError, ValueError) as e:
            log.debug("http source %s: reading a request body failed: %s", src.name, e)
            self.close_connection = True
            return None

    def _read_chunked(self, limit: int) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1026)
            if not line.endswith(b"\n"):
                self.close_connection = True
                return None
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self._reply(400, "Bad request from client. Malformed chunked encoding", close=True)
                return None
            if size == 0:
                while True:  # trailers
                    t = self.rfile.readline(8194)
                    if t in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > limit:
                self._reply(413, f"Request body exceeds maxRequestSize ({limit} bytes)", close=True)
                return None
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                self.close_connection = True
                return None
            parts.append(chunk)
            self.rfile.readline(3)

    def _discard_body(self) -> None:
        n = self.headers.get("Content-Length")
        if n and n.isdigit() and int(n) <= 1 << 20:
            self.rfile.read(int(n))
        elif n or self.headers.get("Transfer-Encoding"):
            self.close_connection = True

    def _reply(self, code: int, message: str, close: bool = False) -> None:
        data = (f"{code} {message}\n" if code != 200 else "").encode("utf-8", "replace")
        try:
            self.send_response(code)
            if data:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except OSError as e:
            log.debug("http source %s: client went away before the %d reply: %s", self.server.source.name, code, e)
            self.close_connection = True
