"""Type ``netcat``: Flume's NetcatSource — a TCP server turning each line a client sends into an event.

Keys (Flume 1.11):

==================  ======  =========  ===========================================================
key                 type    default    meaning
==================  ======  =========  ===========================================================
bind                string  required   Address to listen on.
port                int     required   Port to listen on (0 picks a free one; the log shows which).
max-line-length     int     512        Longest line in characters, counting its newline.
ack-every-event     bool    true       Reply ``OK\\n`` for each event once it is committed.
encoding            charset utf-8      How incoming bytes are decoded; bodies are stored as UTF-8.
==================  ======  =========  ===========================================================

Lines end at ``\\n`` (a ``\\r`` before it is dropped too).  The lines that arrive together go to the
channels in one batch; their ``OK`` replies are written, in order, only after that batch committed.
When the channel is full the batch is retried with backoff (the client simply waits for its OKs);
only when the agent stops does the client get ``FAILED: <reason>`` instead.  A line longer than
``max-line-length`` gets ``FAILED: Event exceeds the maximum length (N chars, including newline)``;
the rest of that line is skipped and the connection stays usable.  Bytes that are not valid in
``encoding`` become U+FFFD, as Java's decoder does.
"""

from __future__ import annotations

import codecs
import logging
import socket
import threading

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop, port
from flumepy.core.delivery import DEFAULT_BATCH, channel_batch_limit, deliver
from flumepy.core.event import Event
from flumepy.net import TcpServer

log = logging.getLogger(__name__)

OK = b"OK\n"
RECV_SIZE = 1 << 16


class NetcatSource(EventDrivenSource):
    """Listens on bind:port; one event per line; an ``OK`` per committed event."""

    TYPE_NAME = "netcat"

    PROPS = (
        Prop("bind", "string", None, "Address to listen on.", required=True),
        port("port"),
        Prop("max-line-length", "int", 512, "Longest line in characters, including the newline.", min=1),
        Prop("ack-every-event", "bool", True, "Reply OK for every event once it is committed."),
        Prop("encoding", "charset", "utf-8", "Character set of the incoming lines."),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bind = ""
        self.port = 0
        self.max_line = 512
        self.ack = True
        self.encoding = "utf-8"
        self.batch_limit = DEFAULT_BATCH
        self.address: tuple[str, int] | None = None  # bound address once started
        self._server: TcpServer | None = None
        self._lock = threading.Lock()  # guards counters

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["bind"].strip():
            raise ctx.error("bind", "is required (address to listen on)")
        self.bind = s["bind"].strip()
        self.port = s["port"]
        self.max_line = s["max-line-length"]
        self.ack = s["ack-every-event"]
        self.encoding = s["encoding"]

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.batch_limit = channel_batch_limit(self)
        server = TcpServer(f"netcat source {self.name}", self._serve, self.counters.values, self._lock,
                           nodelay=True)
        server.listen(self.bind, [self.port])
        self._server = server
        self.address = server.addresses[0]
        super().start()
        log.info("netcat source %s listening on %s:%d", self.name, self.address[0], self.address[1])

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            # Reads stop first, so handlers busy with a batch can still tell their client it FAILED.
            self._server.close(timeout)
            self._server = None
            log.info("netcat source %s stopped", self.name)
        if self.lifecycle == "START":
            super().stop()

    def _serve(self, conn: socket.socket, peer: tuple[str, int], local_port: int) -> None:
        server = self._server
        assert server is not None
        _Connection(self, conn, server.stopping).run()


class _Connection:
    """One client: decode, split lines, deliver batches, write replies in line order."""

    def __init__(self, source: NetcatSource, conn: socket.socket, stopping: threading.Event) -> None:
        self.source = source
        self.conn = conn
        self.stopping = stopping  # set when the source stops
        self.decoder = codecs.getincrementaldecoder(source.encoding)(errors="replace")
        self.tail = ""  # text after the last newline
        self.skipping = False  # inside an over-long line: drop text up to the next newline
        self.too_long = (f"FAILED: Event exceeds the maximum length ({source.max_line} chars, "
                         "including newline)\n").encode()

    def run(self) -> None:
        recv = self.conn.recv
        while not self.stopping.is_set():
            try:
                data = recv(RECV_SIZE)
            except OSError:
                return
            if not data:
                return  # client closed; an unterminated last line is not an event (as in Flume)
            text = self.decoder.decode(data)
            if text and not self._handle(text):
                return

    def _handle(self, text: str) -> bool:
        """Process decoded text; False when the client went away."""
        src = self.source
        max_body = src.max_line - 1  # the limit counts the newline
        parts = text.split("\n")
        parts[0] = self.tail + parts[0]
        tail = parts.pop()
        # replies[i] is None for an event (OK once committed) or a FAILED line.
        replies: list[bytes | None] = []
        events: list[Event] = []
        for line in parts:
            if self.skipping:
                self.skipping = False  # this newline ends the over-long line
                continue
            if line.endswith("\r"):
                line = line[:-1]
            if len(line) > max_body:
                replies.append(self.too_long)
                with src._lock:
                    src.counters.values["EventReadFail"] += 1
                continue
            events.append(Event(line.encode("utf-8", "replace")))
            replies.append(None)
        if self.skipping:
            tail = ""
        elif len(tail) > max_body and not (len(tail) == max_body + 1 and tail.endswith("\r")):
            # No newline within max-line-length characters: the line is too long whatever follows.
            replies.append(self.too_long)
            with src._lock:
                src.counters.values["EventReadFail"] += 1
            self.skipping = True
            tail = ""
        self.tail = tail
        if not replies:
            return True
        out: list[bytes] = []
        limit = src.batch_limit
        start = 0  # index in replies of the first reply not yet flushed to ``out``
        for b in range(0, len(events), limit):
            batch = events[b:b + limit]
            with src._lock:
                c = src.counters.values
                c["EventReceivedCount"] += len(batch)
                c["AppendBatchReceivedCount"] += 1
            failure = deliver(src, batch, self.stopping, src._lock)
            # Replies up to and including this batch's last event.
            seen = 0
            end = start
            while end < len(replies) and seen < len(batch):
                if replies[end] is None:
                    seen += 1
                end += 1
            if failure is not None:
                # Stopping: neither this batch nor the rest of this data is delivered.
                msg = ("FAILED: " + " ".join(failure.split()) + "\n").encode()
                out.extend(msg if r is None else r for r in replies[start:])
                self._send(b"".join(out))
                return False
            if src.ack:
                out.extend(OK if r is None else r for r in replies[start:end])
            else:
                out.extend(r for r in replies[start:end] if r is not None)
            start = end
            if end < len(replies):  # more batches follow: acknowledge this one now
                if not self._send(b"".join(out)):
                    return False
                out = []
        out.extend(r for r in replies[start:] if r is not None)  # FAILED lines after the last event
        return self._send(b"".join(out))

    def _send(self, data: bytes) -> bool:
        if not data:
            return True
        try:
            self.conn.sendall(data)
            return True
        except OSError as e:
            log.debug("netcat source %s: client went away: %s", self.source.name, e)
            return False
