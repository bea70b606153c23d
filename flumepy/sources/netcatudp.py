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
import threading

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import DEFAULT_BATCH, channel_batch_limit, deliver
from flumepy.core.event import Event
from flumepy.net import Datagram, UdpReceiver

log = logging.getLogger(__name__)


class NetcatUdpSource(EventDrivenSource):
    """Receives datagrams on bind:port; each one becomes an event."""

    TYPE_NAME = "netcatudp"

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
        self._receiver: UdpReceiver | None = None

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
        self.batch_limit = channel_batch_limit(self)
        receiver = UdpReceiver(f"netcatudp source {self.name}", self._handle, self.counters.values, self.batch_limit)
        receiver.open(self.bind, self.port)
        self._receiver = receiver
        self.address = address = receiver.address
        assert address is not None
        super().start()
        log.info("netcatudp source %s listening on %s:%d", self.name, address[0], address[1])

    def stop(self, timeout: float = 5.0) -> None:
        if self._receiver is not None:
            self._receiver.close(timeout)
            self._receiver = None
            log.info("netcatudp source %s stopped", self.name)
        if self.lifecycle == "START":
            super().stop()

    def _handle(self, datagrams: list[Datagram], stopping: threading.Event) -> None:
        """One event per datagram (a trailing newline dropped), delivered as one batch."""
        header = self.address_header
        events: list[Event] = []
        for data, peer in datagrams:
            if data.endswith(b"\n"):
                data = data[:-1]
            events.append(Event(data, {header: peer[0]} if header else None))
        c = self.counters.values
        c["EventReceivedCount"] += len(events)
        c["AppendBatchReceivedCount"] += 1
        failure = deliver(self, events, stopping)
        if failure is not None:
            log.error("netcatudp source %s: stopping with %d datagrams not delivered: %s",
                      self.name, len(events), failure)
