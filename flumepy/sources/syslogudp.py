"""Type ``syslogudp``: Flume's SyslogUDPSource — one syslog message per datagram.

Keys (Flume 1.11):

====================  ======  =========  ========================================================
key                   type    default    meaning
====================  ======  =========  ========================================================
host                  string  0.0.0.0    Address to listen on.
port                  int     required   Port to listen on (0 picks a free one; the log shows it).
keepFields            string  none       As syslogtcp.
clientIPHeader        string  (none)     Header that receives the sender's IP address.
clientHostnameHeader  string  (none)     Header that receives the sender's host name.
format.*              -       -          Custom date formats: accepted, ignored (warning).
====================  ======  =========  ========================================================

Headers and bodies are those of Flume's SyslogUtils (see :mod:`flumepy.syslog`).  A datagram is one
message; a trailing newline is dropped, and a datagram holding several newline-separated messages
gives one event each (Flume keeps only the first).  Datagrams waiting together are delivered in one
batch; when the channel is full the batch is retried (meanwhile the kernel buffers, then drops,
later datagrams: this is UDP).
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import DEFAULT_BATCH, channel_batch_limit, deliver
from flumepy.core.errors import FlumeError
from flumepy.core.event import Event
from flumepy.sources.syslogtcp import COMMON_PROPS
from flumepy.syslog import INVALID, STATUS, SyslogParser, keep_fields

log = logging.getLogger(__name__)

MAX_DATAGRAM = 1 << 16
RCVBUF = 4 << 20


class SyslogUdpSource(EventDrivenSource):
    """Syslog over UDP, SyslogUtils headers."""

    TYPE_NAME = "syslogudp"
    POLL = 0.25
    PROPS = (
        COMMON_PROPS[0], port("port"), *COMMON_PROPS[2:],
        Prop("eventSize", "int", MAX_DATAGRAM, "Accepted, ignored: a datagram is at most 64 KiB.",
             ignored="UDP messages are whole datagrams"),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.host: str | None = None
        self.port = 0
        self.ip_header: str | None = None
        self.host_header: str | None = None
        self.batch_limit = DEFAULT_BATCH
        self.address: tuple[str, int] | None = None
        self._parser = SyslogParser()
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._names: dict[str, str] = {}

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self.host = (s["host"] or "").strip() or None
        self.port = s["port"]
        self.ip_header = (s["clientIPHeader"] or "").strip() or None
        self.host_header = (s["clientHostnameHeader"] or "").strip() or None
        if s["format."].keys():
            ctx.warn("format.", "custom syslog timestamp formats are accepted but not implemented by flumepy")
        self._parser = SyslogParser(keep_fields(s["keepFields"]))

    def start(self) -> None:
        what = f"syslogudp source {self.name}"
        self._stopping.clear()
        self.batch_limit = channel_batch_limit(self)
        bind = self.host or "0.0.0.0"
        try:
            infos = socket.getaddrinfo(bind, self.port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as e:
            raise FlumeError(f"{what}: cannot resolve host {bind!r}: {e}") from None
        family, _, _, _, addr = infos[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            except OSError:
                pass
            sock.bind(addr)
        except OSError as e:
            sock.close()
            raise FlumeError(f"{what}: cannot listen on {bind}:{self.port}: {e.strerror or e}") from None
        sock.setblocking(False)
        self._sock = sock
        self.address = sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._run, name=f"syslogudp-{self.name}", daemon=True)
        self._thread.start()
        super().start()
        log.info("%s listening on %s:%d", what, self.address[0], self.address[1])

    def stop(self, timeout: float = 5.0) -> None:
        if self._sock is not None:
            self._stopping.set()
            if self._thread is not None:
                self._thread.join(timeout)
                if self._thread.is_alive():
                    log.warning("syslogudp source %s: receiver thread did not stop", self.name)
                self._thread = None
            self._sock.close()
            self._sock = None
            log.info("syslogudp source %s stopped", self.name)
        if self.lifecycle == "START":
            super().stop()

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                try:
                    if sel.select(self.POLL):
                        self._receive(sock)
                except Exception:
                    self.counters.values["GenericProcessingFail"] += 1
                    log.exception("syslogudp source %s: error receiving datagrams", self.name)
                    self._stopping.wait(1.0)
        finally:
            sel.close()

    def _receive(self, sock: socket.socket) -> None:
        c = self.counters.values
        events: list[Event] = []
        parse = self._parser.event
        for _ in range(self.batch_limit):
            try:
                data, peer = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                log.warning("syslogudp source %s: receive failed: %s", self.name, e)
                c["EventReadFail"] += 1
                break
            extra = self._peer(peer[0])
            lines = [ln for ln in data.split(b"\n") if ln]
            if not lines:
                c["EventReadFail"] += 1  # an empty datagram (Flume: NumberFormatException, dropped)
                continue
            for line in lines:
                ev = parse(line)
                if ev.headers.get(STATUS) == INVALID:
                    c["EventReadFail"] += 1
                if extra:
                    ev.headers.update(extra)
                events.append(ev)
        if not events:
            return
        c["EventReceivedCount"] += len(events)
        for i in range(0, len(events), self.batch_limit):
            batch = events[i:i + self.batch_limit]
            c["AppendBatchReceivedCount"] += 1
            failure = deliver(self, batch, self._stopping)
            if failure is not None:
                log.error("syslogudp source %s: stopping with %d messages not delivered: %s",
                          self.name, len(events) - i, failure)
                return

    def _peer(self, ip: str) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.ip_header:
            out[self.ip_header] = ip
        if self.host_header:
            name = self._names.get(ip)
            if name is None:
                try:
                    name = socket.gethostbyaddr(ip)[0]
                except OSError:
                    name = ip
                if len(self._names) > 10_000:
                    self._names.clear()
                self._names[ip] = name
            out[self.host_header] = name
        return out
