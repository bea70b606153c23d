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
import threading

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import DEFAULT_BATCH, channel_batch_limit, deliver
from flumepy.core.event import Event
from flumepy.net import MAX_DATAGRAM, Datagram, UdpReceiver, peer_headers
from flumepy.sources.syslogtcp import COMMON_PROPS
from flumepy.syslog import INVALID, STATUS, SyslogParser, keep_fields

log = logging.getLogger(__name__)


class SyslogUdpSource(EventDrivenSource):
    """Syslog over UDP, SyslogUtils headers."""

    TYPE_NAME = "syslogudp"
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
        self._receiver: UdpReceiver | None = None
        self._peers: dict[str, dict[str, str]] = {}  # ip -> its headers (reverse DNS once per sender)

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
        self.batch_limit = channel_batch_limit(self)
        receiver = UdpReceiver(what, self._handle, self.counters.values, self.batch_limit)
        receiver.open(self.host, self.port, host_key="host")
        self._receiver = receiver
        self.address = address = receiver.address
        assert address is not None
        super().start()
        log.info("%s listening on %s:%d", what, address[0], address[1])

    def stop(self, timeout: float = 5.0) -> None:
        if self._receiver is not None:
            self._receiver.close(timeout)
            self._receiver = None
            log.info("syslogudp source %s stopped", self.name)
        if self.lifecycle == "START":
            super().stop()

    def _handle(self, datagrams: list[Datagram], stopping: threading.Event) -> None:
        """Each newline-separated message of each datagram becomes an event; batches of batch_limit."""
        c = self.counters.values
        events: list[Event] = []
        parse = self._parser.event
        for data, peer in datagrams:
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
            failure = deliver(self, batch, stopping)
            if failure is not None:
                log.error("syslogudp source %s: stopping with %d messages not delivered: %s",
                          self.name, len(events) - i, failure)
                return

    def _peer(self, ip: str) -> dict[str, str]:
        """clientIPHeader / clientHostnameHeader for a sender, its reverse DNS remembered."""
        out = self._peers.get(ip)
        if out is None:
            out = peer_headers((ip, 0), self.ip_header, self.host_header)
            if len(self._peers) > 10_000:
                self._peers.clear()
            self._peers[ip] = out
        return out
