"""An Avro IPC server for ``AvroSourceProtocol`` over Netty framing (what Flume's AvroSource runs).

One thread per connection reads data packs, answers the handshake as Java's ``Responder`` does, and
hands each ``append``/``appendBatch`` to a handler that returns a Status symbol.  Requests on one
connection are answered in order; a malformed pack closes that connection only, with a log line
naming the peer and the reason.  Every buffer is bounded (``max_message`` per pack).
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flumepy.avro import protocol as p
from flumepy.avro.framing import DEFAULT_MAX_MESSAGE, FrameDecoder, encode_frame
from flumepy.avro.transport import Stream
from flumepy.core.event import Event
from flumepy.net import TcpServer, hostname

log = logging.getLogger(__name__)

Handler = Callable[[str, list[Event]], str]  # (message name, events) -> "OK" | "FAILED" | "UNKNOWN"


# -- ipFilterRules ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class IpRule:
    """One of Flume's ``allow|deny:ip|name:pattern`` rules (``*`` and ``?`` wildcards)."""

    allow: bool
    by_name: bool
    pattern: re.Pattern[str] | None
    localhost: bool
    text: str

    def matches(self, ip: str, hostname: Callable[[], str]) -> bool:
        if self.localhost and ip in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return True
        if self.pattern is None:
            return False
        return bool(self.pattern.fullmatch(hostname() if self.by_name else ip))


def parse_ip_rules(text: str) -> list[IpRule]:
    """Parse ``ipFilterRules`` as Flume does; raises ValueError naming the bad rule."""
    rules = []
    for raw in text.split(","):
        rule = raw.strip()
        if not rule:
            continue
        parts = rule.split(":", 2)
        if len(parts) != 3 or parts[0] not in ("allow", "deny") or parts[1] not in ("ip", "name"):
            raise ValueError(f"invalid rule {rule!r}: expected <allow|deny>:<ip|name>:<pattern>")
        allow, by_name, pat = parts[0] == "allow", parts[1] == "name", parts[2].strip()
        localhost = by_name and pat == "localhost"
        regex = None
        if not localhost and pat:
            regex = re.compile(re.escape(pat).replace(r"\*", ".*").replace(r"\?", "."))
        rules.append(IpRule(allow, by_name, regex, localhost, rule))
    return rules


def allowed(rules: list[IpRule], ip: str) -> tuple[bool, str]:
    """First matching rule decides; no match allows (Netty's RuleBasedIpFilter)."""
    name: list[str] = []

    def name_once() -> str:
        if not name:
            name.append(hostname(ip))
        return name[0]

    for rule in rules:
        if rule.matches(ip, name_once):
            return rule.allow, rule.text
    return True, ""


# -- server ----------------------------------------------------------------------------------------
class AvroServer:
    """Serves ``handler`` on bind:port: a :class:`flumepy.net.TcpServer` with Flume's Avro IPC per connection."""

    def __init__(self, name: str, handler: Handler, bind: str, port: int, *, deflate: bool = False,
                 ssl_context: ssl.SSLContext | None = None, ip_rules: list[IpRule] | None = None,
                 threads: int = 0, max_message: int = DEFAULT_MAX_MESSAGE,
                 on_connections: Callable[[int], None] | None = None) -> None:
        self.name = name
        self.handler = handler
        self.bind = bind
        self.port = port
        self.deflate = deflate
        self.ssl_context = ssl_context
        self.ip_rules = ip_rules or []
        self.max_message = max_message
        self.on_connections = on_connections
        self.address: tuple[str, int] | None = None
        self._workers = threading.BoundedSemaphore(threads) if threads > 0 else None
        self._server: TcpServer | None = None
        self._stopping = threading.Event()  # set once stop() begins (the running server's flag)

    def start(self) -> None:
        """Listen and accept; a FlumeError names the address when the port cannot be opened."""
        server = TcpServer(f"avro source {self.name}", self._serve, ssl_context=self.ssl_context, nodelay=True,
                           admit=self._admit if self.ip_rules else None, on_connections=self.on_connections)
        server.listen(self.bind, [self.port])
        self._server = server
        self._stopping = server.stopping
        self.address = server.addresses[0]

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.close(timeout)
            self._server = None

    def connection_count(self) -> int:
        return self._server.connection_count() if self._server is not None else 0

    def _admit(self, peer: tuple[str, int]) -> bool:
        ok, rule = allowed(self.ip_rules, peer[0])
        if not ok:
            log.info("avro source %s: connection from %s:%s rejected by ipFilterRules (%s)",
                     self.name, peer[0], peer[1], rule)
        return ok

    def _serve(self, sock: socket.socket, peer_addr: tuple[str, int], local_port: int) -> None:
        peer = f"{peer_addr[0]}:{peer_addr[1]}"
        stream = Stream(sock, self.deflate)
        try:
            _Connection(self, stream, peer).run()
        except p.ProtocolError as e:
            log.warning("avro source %s: closing connection from %s: %s", self.name, peer, e)
        except ssl.SSLError as e:
            log.warning("avro source %s: TLS error with %s, connection closed: %s", self.name, peer, e)
        except OSError as e:
            if not self._stopping.is_set():
                log.info("avro source %s: connection from %s closed: %s", self.name, peer, e)
        finally:
            stream.close()


class _Connection:
    """Handshake state and request loop of one client connection."""

    def __init__(self, server: AvroServer, stream: Stream, peer: str) -> None:
        self.server = server
        self.stream = stream
        self.peer = peer
        self.connected = False  # handshake done (Java: Transceiver.isConnected)
        self.known = {p.PROTOCOL_MD5}

    def run(self) -> None:
        decoder = FrameDecoder(self.server.max_message)
        stopping = self.server._stopping
        while not stopping.is_set():
            data = self.stream.recv()
            if not data:
                if decoder.pending:
                    raise p.ProtocolError(f"connection closed in the middle of a frame "
                                          f"({decoder.pending} bytes of it received)")
                return
            for serial, message in decoder.feed(data):
                reply = self.handle(message)
                if reply is not None:
                    self.stream.send(encode_frame(serial, reply))

    def handle(self, message: bytes) -> bytes | None:
        fo = io.BytesIO(message)
        hs_response = None
        if not self.connected:
            hs_response = self._handshake(p.read(fo, p.HANDSHAKE_REQUEST_SCHEMA))
            if hs_response["match"] == "NONE":
                return p.encode_handshake(hs_response)
        p.read(fo, p.META_SCHEMA)
        name = p.read(fo, p.STRING_SCHEMA)
        if name == "":  # handshake ping
            return p.encode_handshake(hs_response) if hs_response else b""
        if name == "appendBatch":
            events, end = p.decode_events(message, fo.tell())
            fo.seek(end)
        elif name == "append":
            events = p.from_avro([p.read(fo, p.EVENT_SCHEMA)])
        else:
            log.warning("avro source %s: %s called unknown message %r", self.server.name, self.peer, name[:100])
            return p.encode_response(error=f"org.apache.avro.AvroRuntimeException: No such remote message: {name}",
                                     handshake=hs_response)
        if fo.tell() != len(message):
            raise p.ProtocolError(f"{len(message) - fo.tell()} unexpected bytes after the {name} parameters")
        workers = self.server._workers
        if workers is None:
            status = self.server.handler(name, events)
        else:
            with workers:
                status = self.server.handler(name, events)
        return p.encode_response(status, handshake=hs_response)

    def _handshake(self, req: dict) -> dict:  # type: ignore[type-arg]
        client_hash = req["clientHash"]
        remote = client_hash in self.known
        if not remote and req["clientProtocol"] is not None:
            _check_protocol(req["clientProtocol"])
            self.known.add(client_hash)
            remote = True
        if not remote:
            match = "NONE"
        elif req["serverHash"] == p.PROTOCOL_MD5:
            match = "BOTH"
        else:
            match = "CLIENT"
        resp: dict[str, object] = {"match": match, "serverProtocol": None, "serverHash": None, "meta": None}
        if match != "BOTH":
            resp["serverProtocol"] = p.PROTOCOL_JSON
            resp["serverHash"] = p.PROTOCOL_MD5
        if match != "NONE":
            self.connected = True
        return resp


def _check_protocol(text: str) -> None:
    """A client's protocol must declare Flume's messages (their schemas are read as ours)."""
    try:
        proto = json.loads(text)
        messages = proto["messages"]
    except (ValueError, KeyError, TypeError) as e:
        raise p.ProtocolError(f"client sent an unreadable protocol: {e}") from None
    if not isinstance(messages, dict) or not set(messages) & set(p.MESSAGES):
        raise p.ProtocolError(f"client protocol {proto.get('protocol')!r} has no append/appendBatch message")
