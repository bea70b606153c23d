"""Type ``avro``: Flume's AvroSink — forwards events to an Avro source (flumepy's or Flume's).

Each ``process()`` takes up to ``batch-size`` events in one channel transaction, sends them as one
``appendBatch`` and commits only after the peer answered ``OK``; any other answer, a timeout or a
connection error rolls the transaction back (the events are sent again) and closes the connection,
which is reopened on the next attempt.  ``reset-connection-interval`` (seconds) reconnects
periodically so a load balancer in front of several collectors spreads the load.
"""

from __future__ import annotations

import logging
import time

from flumepy.avro.client import AvroRpcClient
from flumepy.avro.transport import client_context
from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import EventDeliveryError, FlumeError
from flumepy.core.event import Event

log = logging.getLogger(__name__)


class AvroSink(Sink):
    TYPE_NAME = "avro"

    PROPS = (
        Prop("hostname", "string", None, "Host of the Avro source to send to.", required=True),
        Prop("port", "int", None, "Port of the Avro source.", required=True, min=1, max=65535),
        Prop("batch-size", "int", 100, "Events per transaction and appendBatch call.", min=1),
        Prop("connect-timeout", "int", 20000, "Milliseconds allowed for connecting and the handshake.", min=1),
        Prop("request-timeout", "int", 20000, "Milliseconds allowed for each request's answer.", min=1),
        Prop("reset-connection-interval", "int", 0, "Seconds after which the connection is reopened (0: never).",
             min=0),
        Prop("compression-type", "string", "none", "none or deflate (must match the source).",
             choices=("none", "deflate")),
        Prop("compression-level", "int", 6, "zlib level for deflate, 0-9.", min=0, max=9),
        Prop("ssl", "bool", False, "Connect with TLS."),
        Prop("trust-all-certs", "bool", False, "Accept any server certificate (no verification)."),
        Prop("truststore", "string", None, "Certificates to trust: PKCS12 or PEM file (JKS: convert with "
             "keytool); the system CAs when unset."),
        Prop("truststore-password", "string", None, "Password of the truststore."),
        Prop("truststore-type", "string", "JKS", "JKS, PKCS12 or PEM; the file's content decides how it is read."),
        Prop("include-protocols", "list", [], "TLS protocols to allow."),
        Prop("exclude-protocols", "list", ["SSLv3"], "TLS protocols to refuse."),
        Prop("include-cipher-suites", "list", [], "Java cipher suite names.", ignored="Java cipher suite names"),
        Prop("exclude-cipher-suites", "list", [], "Java cipher suite names.", ignored="Java cipher suite names"),
        Prop("maxIoWorkers", "int", 0, "Netty I/O threads.", min=0,
             ignored="one blocking connection per sink needs no I/O worker pool"),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.client: AvroRpcClient | None = None
        self._reset_interval = 0.0

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["hostname"].strip():
            raise ctx.error("hostname", "is required (host of the Avro source)")
        self.batch_size = s["batch-size"]
        self._reset_interval = float(s["reset-connection-interval"])

    def start(self) -> None:
        s = self.settings
        ssl_ctx = None
        if s["ssl"]:
            try:
                ssl_ctx = client_context(s["trust-all-certs"], s["truststore"], s["truststore-password"],
                                         s["include-protocols"], s["exclude-protocols"])
            except (OSError, ValueError) as e:
                raise FlumeError(f"avro sink {self.name}: cannot load truststore {s['truststore']}: {e}") from None
        self.client = AvroRpcClient(
            s["hostname"].strip(), s["port"], batch_size=self.batch_size,
            connect_timeout=s["connect-timeout"] / 1000, request_timeout=s["request-timeout"] / 1000,
            deflate=s["compression-type"] == "deflate", compression_level=s["compression-level"],
            ssl_context=ssl_ctx)
        super().start()
        try:  # as Flume: try to connect now, but a peer that is down is not fatal
            self._connect()
        except EventDeliveryError as e:
            log.warning("avro sink %s: %s; will retry", self.name, e)
        log.info("avro sink %s started, sending to %s:%d", self.name, s["hostname"].strip(), s["port"])

    def stop(self) -> None:
        if self.client is not None:
            if self.client.is_open:
                self.counters.values["ConnectionClosedCount"] += 1
            self.client.close()
            self.client = None
        if self.lifecycle == "START":
            super().stop()

    def _connect(self) -> None:
        assert self.client is not None
        try:
            self.client.connect()
        except EventDeliveryError:
            self.counters.values["ConnectionFailedCount"] += 1
            raise
        self.counters.values["ConnectionCreatedCount"] += 1
        log.info("avro sink %s: connected to %s:%d", self.name, self.client.host, self.client.port)

    def _send(self, events: list[Event]) -> None:
        client = self.client
        if client is None:
            raise EventDeliveryError(f"avro sink {self.name} is not started")
        if client.is_open and self._reset_interval and time.monotonic() - client.connected_at >= self._reset_interval:
            log.debug("avro sink %s: reset-connection-interval reached, reconnecting", self.name)
            client.close()
            self.counters.values["ConnectionClosedCount"] += 1
        if not client.is_open:
            self._connect()
        try:
            client.append_batch(events)
        except EventDeliveryError:
            if not client.is_open:
                self.counters.values["ConnectionClosedCount"] += 1
            raise

    def process(self) -> Status:
        try:
            return self.drain(self.batch_size, self._send)
        except EventDeliveryError as e:
            raise EventDeliveryError(f"avro sink {self.name}: failed to send events: {e}") from None
