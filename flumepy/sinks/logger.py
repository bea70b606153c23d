"""Type ``logger``: logs each event at INFO as Flume does: ``Event: { headers:{k=v} body: <hex> }``."""

from __future__ import annotations

import logging

from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event

log = logging.getLogger(__name__)


def hex_dump(body: bytes) -> str:
    """Flume's EventHelper.dumpEvent body form (commons-io HexDump, first row's offset removed).

    Each row: 8-digit hex offset, a space, 16 ``XX `` cells (blank cells for a short row), the
    printable characters ('.' for others); rows joined by newlines, the leading ``00000000`` cut.
    """
    rows = []
    for off in range(0, len(body), 16):
        chunk = body[off:off + 16]
        hexpart = "".join(f"{b:02X} " for b in chunk) + "   " * (16 - len(chunk))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append(f"{off:08X} {hexpart}{text}")
    dump = "\n".join(rows)
    return dump[8:] if dump.startswith("00000000") else dump


def format_event(event: Event, max_bytes: int) -> str:
    headers = ", ".join(f"{k}={v}" for k, v in event.headers.items())
    body = event.body[:max_bytes]
    return f"Event: {{ headers:{{{headers}}} body:{hex_dump(body)} }}"


class LoggerSink(Sink):
    PROPS = (
        Prop("maxBytesToLog", "int", 16, "Body bytes shown per event.", min=0),
        Prop("batchSize", "int", 100, "Events per transaction.", min=1),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.batch_size = self.settings["batchSize"]

    def _log(self, events: list[Event]) -> None:
        if log.isEnabledFor(logging.INFO):
            n = self.settings["maxBytesToLog"]
            for e in events:
                log.info("%s", format_event(e, n))

    def process(self) -> Status:
        return self.drain(self.batch_size, self._log)
