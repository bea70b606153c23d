"""Type ``multiport_syslogtcp``: Flume's MultiportSyslogTCPSource — syslog over TCP on several ports.

Keys (Flume 1.11):

======================  =======  =========  =====================================================
key                     type     default    meaning
======================  =======  =========  =====================================================
host                    string   0.0.0.0    Address to listen on.
ports                   list     required   Space-separated ports (0 picks a free one).
eventSize               int      2500       Longest line in bytes, newline included; longer lines
                                            are cut and flagged Incomplete.
keepFields              string   none       As syslogtcp.
portHeader              string   (none)     Header that receives the port the message came in on.
clientIPHeader          string   (none)     Header that receives the client's IP address.
clientHostnameHeader    string   (none)     Header that receives the client's host name.
charset.default         charset  UTF-8      How lines are decoded (and bodies encoded).
charset.port.<port>     charset  -          Charset for one port.
batchSize               int      100        Events per channel transaction.
framing                 string   auto       flumepy: as syslogtcp.
readBufferBytes         int      1024       Accepted, ignored (MINA buffer).
numProcessors           int      -          Accepted, ignored (MINA processors).
ssl, keystore...        -        false      TLS (see flumepy.tls).
======================  =======  =========  =====================================================

Lines are parsed by Flume's SyslogParser (headers ``Priority``, ``Facility``, ``Severity``,
``Version``, ``timestamp``, ``host``; see :mod:`flumepy.syslog`).  A line that does not decode in
the port's charset, or cannot be parsed, becomes an event flagged ``flume.syslog.status=Invalid``
holding the raw line.  Empty lines are skipped.
"""

from __future__ import annotations

import logging

from flumepy.core.context import Context, Prop
from flumepy.core.delivery import channel_batch_limit
from flumepy.core.event import Event
from flumepy.net import Peer, Stream, peer_headers
from flumepy.sources.syslogtcp import COMMON_PROPS, SyslogStream, SyslogTcpSource
from flumepy.syslog import INCOMPLETE, INVALID, STATUS, MultiportParser, keep_fields
from flumepy.tls import SSL_PROPS

log = logging.getLogger(__name__)


class MultiportSyslogTcpSource(SyslogTcpSource):
    """Syslog over TCP on several ports, parsed by Flume's SyslogParser."""

    TYPE_NAME = "multiport_syslogtcp"
    PROPS = (  # type: ignore[assignment]
        COMMON_PROPS[0],
        Prop("ports", "list", None, "Space-separated ports to listen on.", required=True),
        *COMMON_PROPS[1:],
        Prop("portHeader", "string", None, "Header that receives the port the message arrived on."),
        Prop("charset.default", "charset", "utf-8", "Charset of the messages."),
        Prop("charset.port.", "string", None, "charset.port.<port>: charset of one port.", prefix=True),
        Prop("batchSize", "int", 100, "Events per channel transaction.", min=1),
        Prop("framing", "string", "auto", "flumepy: auto (newline or RFC 6587 octet counting) or newline.",
             choices=("auto", "newline")),
        Prop("readBufferBytes", "int", 1024, "MINA read buffer size.", ignored="no MINA buffers"),
        Prop("numProcessors", "int", None, "MINA I/O processors.", ignored="one thread reads every connection"),
        *SSL_PROPS,
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.ports: list[int] = []
        self.port_header: str | None = None
        self.charset = "utf-8"
        self.port_charsets: dict[int, str] = {}
        self.batch_size = 100
        self.addresses: list[tuple[str, int]] = []
        self._mparser = MultiportParser()

    def configure(self, ctx: Context) -> None:
        super(SyslogTcpSource, self).configure(ctx)
        s = self.settings
        ports = []
        for p in s["ports"]:
            try:
                n = int(p)
            except ValueError:
                n = -1
            if not 0 <= n <= 65535:
                raise ctx.error("ports", f"{p!r} is not a port number (0-65535)")
            ports.append(n)
        if not ports:
            raise ctx.error("ports", "is required (space-separated ports)")
        self.ports = ports
        self.host = (s["host"] or "").strip() or None
        self.event_size = s["eventSize"]
        self.keep = keep_fields(s["keepFields"])
        self.ip_header = (s["clientIPHeader"] or "").strip() or None
        self.host_header = (s["clientHostnameHeader"] or "").strip() or None
        self.port_header = (s["portHeader"] or "").strip() or None
        self.charset = s["charset.default"]
        self.port_charsets = {}
        sub: Context = s["charset.port."]
        for key in sub.keys():
            cs = Prop(key, "charset")
            try:
                pnum = int(key)
            except ValueError:
                raise sub.error(key, "expected charset.port.<port number>") from None
            self.port_charsets[pnum] = sub.value(cs)
        self.batch_size = s["batchSize"]
        self.octets = s["framing"] == "auto"
        if s["format."].keys():
            ctx.warn("format.", "custom syslog timestamp formats are accepted but not implemented by flumepy")
        self._mparser = MultiportParser(self.keep)

    def start(self) -> None:
        super().start()
        assert self._server is not None
        self.addresses = list(self._server.addresses)

    def _ports(self) -> list[int]:
        return self.ports

    def _batch_limit(self) -> int:
        return min(self.batch_size, channel_batch_limit(self, self.batch_size))

    def _open_stream(self, peer: Peer, local_port: int) -> Stream:
        extra = peer_headers(peer, self.ip_header, self.host_header)
        if self.port_header:
            extra[self.port_header] = str(local_port)
        return _MultiportStream(self, peer, extra, self.port_charsets.get(local_port, self.charset))

    def parse_line(self, raw: bytes, incomplete: bool, charset: str) -> Event:
        try:
            msg = raw.decode(charset)
        except UnicodeDecodeError:
            return Event(raw, {STATUS: INVALID})
        try:
            headers, body = self._mparser.parse(msg)
        except Exception as e:  # noqa: BLE001 - any unreadable line is an Invalid event, as in Flume
            log.debug("%s source %s: cannot parse syslog line: %s", self.TYPE_NAME, self.name, e)
            return Event(raw, {STATUS: INVALID})
        if incomplete:
            headers[STATUS] = INCOMPLETE
        try:
            data = body.encode(charset)
        except UnicodeEncodeError:
            data = body.encode(charset, "replace")
        return Event(data, headers)



class _MultiportStream(SyslogStream):
    """Newline/octet framed messages parsed in the port's charset."""

    __slots__ = ("charset", "parse_line")

    def __init__(self, src: MultiportSyslogTcpSource, peer: Peer, extra: dict[str, str], charset: str) -> None:
        super().__init__(src, peer, extra)
        self.charset = charset
        self.parse_line = src.parse_line

    def parse(self, raw: bytes, incomplete: bool) -> Event:
        return self.parse_line(raw, incomplete, self.charset)
