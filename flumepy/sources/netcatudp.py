"""Type ``netcatudp``: Flume's NetcatUdpSource — one event per UDP datagram, no acknowledgement.

Keys (Flume 1.11):

===================  ======  ========  ==========================================================
key                  type    default   meaning
===================  ======  ========  ==========================================================
bind                 string  required  Address to listen on.
port                 int     required  Port to listen on (0 picks a free one; the log shows which).
remoteAddressHeader  string  (none)    Header that receives the sender's IP address.
===================  ======  ========  ==========================================================

The body is the datagram with one trailing ``\\n`` removed.  Datagrams that are waiting together are
put in one batch.  When the channel is full the batch is retried with backoff while the source runs
(meanwhile the kernel's receive buffer fills and, this being UDP, later datagrams may be dropped by
the kernel); a batch still undelivered when the agent stops is logged as lost.
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

log = logging.getLogger(__name__)

MAX_DATAGRAM = 1 << 16
RCVBUF = 4 << 20


class NetcatUdpSource(EventDrivenSource):
    """Receives datagrams on bind:port; each one becomes an event."""

    TYPE_NAME = "netcatudp"
    POLL = 0.25  # seconds between checks of the stop flag

    PROPS = (
        Prop("bind", "string", None, "Address to listen on.", required=True),
        port("port"),
        Prop("remoteAddressHeader", "string", None, "Header that receives the sender's IP address."),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bind = ""
        self.port = 0
        self.address_header: str | None = None
        self.batch_limit = DEFAULT_BATCH
        self.address: tuple[str, int] | None = None
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["bind"].strip():
            raise ctx.error("bind", "is required (address to listen on)")
        self.bind = s["bind"].strip()
        self.port = s["port"]
        header = s["remoteAddressHeader"]
        self.address_header = header.strip() if header and header.strip() else None

    def start(self) -> None:
        self._stopping.clear()
        self.batch_limit = channel_batch_limit(self)
        try:
            infos = socket.getaddrinfo(self.bind, self.port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as e:
            raise FlumeError(f"netcatudp source {self.name}: cannot resolve bind address {self.bind!r}: {e}"
                             ) from None
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
            raise FlumeError(f"netcatudp source {self.name}: cannot listen on {self.bind}:{self.port}: "
                             f"{e.strerror or e}") from None
        sock.setblocking(False)
        self._sock = sock
        self.address = sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._run, name=f"netcatudp-{self.name}", daemon=True)
        self._thread.start()
        super().start()
        log.info("netcatudp source %s listening on %s:%d", self.name, self.address[0], self.address[1])

    def stop(self, timeout: float = 5.0) -> None:
        if self._sock is None:
            if self.lifecycle == "START":
                super().stop()
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("netcatudp source %s: receiver thread did not stop within %.1fs", self.name, timeout)
            self._thread = None
        self._sock.close()
        self._sock = None
        super().stop()
        log.info("netcatudp source %s stopped", self.name)

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        header = self.address_header
        c = self.counters.values
        try:
            while not self._stopping.is_set():
                try:
                    self._receive(sel, sock, header)
                except Exception:
                    c["GenericProcessingFail"] += 1
                    log.exception("netcatudp source %s: error receiving datagrams", self.name)
                    self._stopping.wait(1.0)
        finally:
            sel.close()

    def _receive(self, sel: selectors.BaseSelector, sock: socket.socket, header: str | None) -> None:
        """Wait up to POLL for datagrams, then deliver every one already waiting (up to a batch)."""
        if not sel.select(self.POLL):
            return
        c = self.counters.values
        events: list[Event] = []
        while len(events) < self.batch_limit:
            try:
                data, peer = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                log.warning("netcatudp source %s: receive failed: %s", self.name, e)
                c["EventReadFail"] += 1
                break
            if data.endswith(b"\n"):
                data = data[:-1]
            events.append(Event(data, {header: peer[0]} if header else None))
        if not events:
            return
        c["EventReceivedCount"] += len(events)
        c["AppendBatchReceivedCount"] += 1
        failure = deliver(self, events, self._stopping)
        if failure is not None:
            log.error("netcatudp source %s: stopping with %d datagrams not delivered: %s",
                      self.name, len(events), failure)
