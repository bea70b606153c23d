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
the connections wait (TCP backpressure) until the batch commits.  One thread reads every connection
(:class:`flumepy.net.TcpServer` with a stream per connection; with TLS, a thread per connection); at
most ``TcpServer.MAX_CONNECTIONS`` are open, later clients wait in the listen backlog.  An
unterminated last message is delivered when the client closes the connection cleanly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import DEFAULT_BATCH, channel_batch_limit, deliver
from flumepy.core.event import Event
from flumepy.net import Peer, Stream, TcpServer, peer_headers
from flumepy.syslog import DEFAULT_EVENT_SIZE, INVALID, STATUS, BulkParser, StreamSplitter, SyslogParser, keep_fields
from flumepy.tls import SSL_PROPS, server_context

log = logging.getLogger(__name__)

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
        self._bulk = BulkParser(self._parser, self.event_size)

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
        # Connections without per-peer headers share one head cache (each head is parsed once per source).
        self._bulk = BulkParser(self._parser, self.event_size)

    def start(self) -> None:
        what = f"{self.TYPE_NAME} source {self.name}"
        self.batch_limit = self._batch_limit()
        server = TcpServer(what, None, self.counters.values, self._lock, stream=self._open_stream,
                           ssl_context=server_context(self.settings, what))
        server.listen(self.host, self._ports(), host_key="host")
        self._server = server
        self.address = server.addresses[0]
        super().start()
        log.info("%s listening on %s%s", what, ", ".join(f"{h}:{p}" for h, p in server.addresses),
                 " (TLS)" if server.ssl_context else "")

    def _ports(self) -> list[int]:
        return [self.port]

    def _batch_limit(self) -> int:
        return channel_batch_limit(self)

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.close(timeout)
            self._server = None
            log.info("%s source %s stopped", self.TYPE_NAME, self.name)
        if self.lifecycle == "START":
            super().stop()

    def _open_stream(self, peer: Peer, local_port: int) -> Stream:
        extra = peer_headers(peer, self.ip_header, self.host_header)
        bulk = BulkParser(self._parser, self.event_size, extra) if extra else self._bulk
        return _SyslogStream(self, peer, extra, bulk)

    def _deliver(self, events: Sequence[Event], stopping: threading.Event, peer: tuple[str, int],
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


class SyslogStream:
    """One connection: bytes -> messages (the splitter keeps an unterminated tail for the next read)
    -> events -> the channels.  Subclasses say how a message becomes an event (``parse``)."""

    __slots__ = ("src", "peer", "extra", "splitter")

    def __init__(self, src: SyslogTcpSource, peer: Peer, extra: dict[str, str]) -> None:
        self.src = src
        self.peer = peer
        self.extra = extra
        self.splitter = StreamSplitter(src.event_size, src.octets)

    def parse(self, raw: bytes, incomplete: bool) -> Event:
        raise NotImplementedError

    def feed(self, data: bytes) -> bool:
        return self._send(self._events(self.splitter.feed(data)))

    def end(self) -> None:
        self._send(self._events(self.splitter.finish()))

    def _events(self, messages: list[tuple[bytes, bool]]) -> list[Event]:
        events = [self.parse(raw, inc) for raw, inc in messages]
        if self.extra:
            for ev in events:
                ev.headers.update(self.extra)
        return events

    def _send(self, events: Sequence[Event], bad: int | None = None) -> bool:
        if not events:
            return True
        server = self.src._server
        stopping = server.stopping if server is not None else threading.Event()
        return self.src._deliver(events, stopping, self.peer, bad)


class _SyslogStream(SyslogStream):
    """Blocks of whole plain RFC 3164 lines go through the bulk parser; the rest (or everything, when
    it declines) through the splitter and the general parser."""

    __slots__ = ("bulk",)

    def __init__(self, src: SyslogTcpSource, peer: Peer, extra: dict[str, str], bulk: BulkParser) -> None:
        super().__init__(src, peer, extra)
        self.bulk = bulk

    def parse(self, raw: bytes, incomplete: bool) -> Event:
        return self.src._parser.event(raw, incomplete)

    def feed(self, data: bytes) -> bool:
        splitter = self.splitter
        fast: Sequence[Event] | None = None
        if self.bulk.enabled and splitter.idle():
            data = splitter.take_buffer() + data
            nl = data.rfind(b"\n") + 1
            if nl:
                fast = self.bulk.parse(data[:nl])
                if fast is not None:
                    data = data[nl:]
        events = self._events(splitter.feed(data))
        if not fast:
            return self._send(events)
        # the bulk parser's events are all valid; counting them would make their headers
        if not events:
            return self._send(fast, 0)
        bad = sum(1 for e in events if e.headers.get(STATUS) == INVALID)
        return self._send([*fast, *events], bad)
