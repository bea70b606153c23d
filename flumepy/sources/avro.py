"""Type ``avro``: Flume's AvroSource — receives events over Flume's Avro RPC (Netty framing).

Wire-compatible with Flume's Avro sink, the Flume RPC SDK (``NettyAvroRpcClient``, log4j appender)
and ``flume-ng avro-client``.  ``append`` and ``appendBatch`` answer ``OK`` only after the events
are committed to the required channels, ``FAILED`` when a channel refuses them (the client retries,
as with Flume).  A malformed or oversized frame closes that client's connection with a log line
naming the peer and the reason; other clients are not affected.

Keys (Flume 1.11, plus flumepy's ``max-message-size`` and ``keystore-key``): see ``PROPS``.
``threads`` bounds how many requests are handled at once (Flume: Netty worker threads).
"""

from __future__ import annotations

import logging
import threading

from flumepy.avro.framing import DEFAULT_MAX_MESSAGE
from flumepy.avro.server import AvroServer, IpRule, parse_ip_rules
from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.errors import ChannelError, FlumeError
from flumepy.core.event import Event
from flumepy.tls import SSL_PROPS, server_context

log = logging.getLogger(__name__)


class AvroSource(EventDrivenSource):
    TYPE_NAME = "avro"

    PROPS = (
        Prop("bind", "string", None, "Address to listen on.", required=True),
        port("port"),
        Prop("threads", "int", 0, "Most requests handled at once (0: no limit).", min=0),
        Prop("compression-type", "string", "none", "none or deflate (must match the sending sink).",
             choices=("none", "deflate")),
        Prop("ipFilter", "bool", False, "Filter clients by ipFilterRules."),
        Prop("ipFilterRules", "string", None, "Comma-separated allow|deny:ip|name:pattern rules; first match wins."),
        *SSL_PROPS,
        Prop("max-message-size", "int", DEFAULT_MAX_MESSAGE, "flumepy: largest RPC message in bytes; a client "
             "sending a larger one is disconnected.", min=1024),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.server: AvroServer | None = None
        self.ip_rules: list[IpRule] = []
        self._lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int] | None:
        return self.server.address if self.server else None

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["bind"].strip():
            raise ctx.error("bind", "is required (address to listen on)")
        self.ip_rules = []
        if s["ipFilter"]:
            rules = s["ipFilterRules"]
            if not rules or not rules.strip():
                raise ctx.error("ipFilterRules", "is required when ipFilter is true")
            try:
                self.ip_rules = parse_ip_rules(rules)
            except ValueError as e:
                raise ctx.error("ipFilterRules", str(e)) from None
        if s["ssl"] and not s["keystore"]:
            raise ctx.error("keystore", "is required when ssl is true (a PKCS12 or PEM file)")

    def start(self) -> None:
        s = self.settings
        ssl_ctx = None
        if s["ssl"]:
            ssl_ctx = server_context(s, f"avro source {self.name}")
        server = AvroServer(self.name, self._handle, s["bind"].strip(), s["port"],
                            deflate=s["compression-type"] == "deflate", ssl_context=ssl_ctx,
                            ip_rules=self.ip_rules, threads=s["threads"], max_message=s["max-message-size"],
                            on_connections=self._connections)
        try:
            server.start()
        except OSError as e:
            raise FlumeError(f"avro source {self.name}: cannot listen on {s['bind']}:{s['port']}: "
                             f"{e.strerror or e}") from None
        self.server = server
        super().start()
        assert server.address is not None
        log.info("avro source %s listening on %s:%d%s%s", self.name, server.address[0], server.address[1],
                 " (deflate)" if server.deflate else "", " (TLS)" if ssl_ctx else "")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
            log.info("avro source %s stopped", self.name)
        if self.lifecycle == "START":
            super().stop()

    def _connections(self, n: int) -> None:
        with self._lock:
            self.counters.values["OpenConnectionCount"] = n

    def _handle(self, message: str, events: list[Event]) -> str:
        c = self.counters.values
        single = message == "append"
        with self._lock:
            c["EventReceivedCount"] += len(events)
            c["AppendReceivedCount" if single else "AppendBatchReceivedCount"] += 1
        try:
            self.channel_processor.process_batch(events)
        except ChannelError as e:
            with self._lock:
                c["ChannelWriteFail"] += 1
            log.warning("avro source %s: unable to process %d event(s), replying FAILED: %s", self.name,
                        len(events), e)
            return "FAILED"
        except Exception:
            with self._lock:
                c["GenericProcessingFail"] += 1
            log.exception("avro source %s: unable to process %d event(s), replying FAILED", self.name, len(events))
            return "FAILED"
        with self._lock:
            c["EventAcceptedCount"] += len(events)
            c["AppendAcceptedCount" if single else "AppendBatchAcceptedCount"] += 1
        return "OK"
