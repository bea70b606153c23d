"""An Avro RPC client for ``AvroSourceProtocol`` (what Flume's NettyAvroRpcClient does for AvroSink).

``append_batch(events)`` sends ``appendBatch`` calls of at most ``batch_size`` events and waits for
each answer; anything but ``OK`` raises EventDeliveryError, so the caller's transaction rolls back.
After any I/O or protocol error the connection is closed; the next call reconnects.
"""

from __future__ import annotations

import io
import logging
import socket
import ssl
import time
from collections.abc import Sequence

from flumepy.avro import protocol as p
from flumepy.avro.framing import DEFAULT_MAX_MESSAGE, FrameDecoder, encode_frame
from flumepy.avro.transport import Stream
from flumepy.core.errors import EventDeliveryError
from flumepy.core.event import Event

log = logging.getLogger(__name__)


class AvroRpcClient:
    def __init__(self, host: str, port: int, *, batch_size: int = 100, connect_timeout: float = 20.0,
                 request_timeout: float = 20.0, deflate: bool = False, compression_level: int = 6,
                 ssl_context: ssl.SSLContext | None = None, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.host = host
        self.port = port
        self.batch_size = batch_size
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.deflate = deflate
        self.compression_level = compression_level
        self.ssl_context = ssl_context
        self.max_message = max_message
        self.connected_at = 0.0
        self._stream: Stream | None = None
        self._decoder = FrameDecoder(max_message)
        self._serial = 0
        self._handshaken = False
        self._send_protocol = False

    def __repr__(self) -> str:
        return f"AvroRpcClient({self.host}:{self.port})"

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def connect(self) -> None:
        """Open the connection (Flume connects, and handshakes with the first call)."""
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as e:
            raise EventDeliveryError(f"{self}: cannot connect: {e.strerror or e}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except (OSError, ssl.SSLError) as e:
            sock.close()
            raise EventDeliveryError(f"{self}: TLS handshake failed: {e}") from None
        self._stream = Stream(sock, self.deflate, self.compression_level)
        self._decoder = FrameDecoder(self.max_message)
        self._handshaken = False
        self.connected_at = time.monotonic()
        # The Avro handshake rides on the first call; do it now with a ping so errors show at connect.
        try:
            self._call("", b"", self.connect_timeout)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def append(self, event: Event) -> None:
        self._checked("append", p.encode_event(event))

    def append_batch(self, events: Sequence[Event]) -> None:
        events = list(events)
        for i in range(0, len(events), self.batch_size):
            self._checked("appendBatch", p.encode_events(events[i:i + self.batch_size]))

    def _checked(self, message: str, params: bytes) -> None:
        if self._stream is None:
            self.connect()
        try:
            status = self._call(message, params, self.request_timeout)
        except BaseException:
            self.close()
            raise
        if status != "OK":
            raise EventDeliveryError(f"{self}: Avro RPC call returned Status: {status}")

    def _call(self, message: str, params: bytes, timeout: float) -> str | None:
        """One request/response; handles the handshake rounds. Returns the Status symbol."""
        for _attempt in range(2):
            handshake = None
            if not self._handshaken:
                handshake = p.handshake_request(p.PROTOCOL_JSON if self._send_protocol else None)
            reply = self._roundtrip(p.encode_call(message, params, handshake), timeout)
            fo = io.BytesIO(reply)
            try:
                if handshake is not None:
                    hs = p.read(fo, p.HANDSHAKE_RESPONSE_SCHEMA)
                    if hs["match"] == "NONE":
                        self._send_protocol = True
                        continue
                    self._handshaken = True
                if message == "":
                    return None
                p.read(fo, p.META_SCHEMA)
                if p.read(fo, p.BOOLEAN_SCHEMA):
                    error = p.read(fo, p.ERROR_SCHEMA)
                    raise EventDeliveryError(f"{self}: server error: {error}")
                return str(p.read(fo, p.STATUS_SCHEMA))
            except p.ProtocolError as e:
                raise EventDeliveryError(f"{self}: invalid response: {e}") from None
        raise EventDeliveryError(f"{self}: Avro handshake failed: the server does not accept our protocol")

    def _roundtrip(self, request: bytes, timeout: float) -> bytes:
        stream = self._stream
        if stream is None:
            raise EventDeliveryError(f"{self}: not connected")
        self._serial = (self._serial + 1) & 0x7FFFFFFF
        serial = self._serial
        deadline = time.monotonic() + timeout
        try:
            stream.sock.settimeout(timeout)
            stream.send(encode_frame(serial, request))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                stream.sock.settimeout(left)
                data = stream.recv()
                if not data:
                    raise EventDeliveryError(f"{self}: connection closed by the server")
                for got, reply in self._decoder.feed(data):
                    if got == serial:
                        return reply
                    log.debug("%s: ignoring response with serial %d (waiting for %d)", self, got, serial)
        except TimeoutError:
            raise EventDeliveryError(f"{self}: no response within {timeout:g} s") from None
        except p.ProtocolError as e:
            raise EventDeliveryError(f"{self}: invalid response: {e}") from None
        except OSError as e:
            raise EventDeliveryError(f"{self}: connection error: {e.strerror or e}") from None
