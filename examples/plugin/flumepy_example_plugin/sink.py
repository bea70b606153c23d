"""Type ``jsonl``: appends events to a file as JSON lines ``{"headers": {...}, "body": "..."}``.

Keys:

* ``path`` (string, required): the output file; its directory is created at start if missing.
* ``batchSize`` (int, 100): events per channel transaction.
* ``bodyFormat`` (text | base64, text): ``text`` decodes bodies as UTF-8 (invalid bytes become
  U+FFFD); ``base64`` keeps any bytes exactly.
* ``fsync`` (bool, false): fsync the file after every batch.

Each batch is written with one ``write`` call and flushed before the channel transaction commits; if
that fails (disk full, path not writable) the transaction rolls back and the events stay in the
channel to be tried again.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence

from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _b64(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


class JsonlSink(Sink):
    """Writes each event as one JSON object per line."""

    PROPS = (
        Prop("path", "string", None, "File the JSON lines are appended to.", required=True),
        Prop("batchSize", "int", 100, "Events per channel transaction.", min=1),
        Prop("bodyFormat", "string", "text", "How bodies are written.", choices=("text", "base64")),
        Prop("fsync", "bool", False, "fsync the file after every batch."),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.path = ""
        self._encode: Callable[[bytes], str] = _text

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self.path = s["path"]
        self.batch_size = s["batchSize"]
        self._encode = _b64 if s["bodyFormat"] == "base64" else _text

    def start(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        super().start()

    def _write(self, events: Sequence[Event]) -> None:
        enc = self._encode
        text = "".join(
            json.dumps({"headers": e.headers, "body": enc(e.body)}, ensure_ascii=False) + "\n" for e in events
        )
        # Opened per batch: simple, and a file moved away by logrotate is simply recreated.
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            if self.settings["fsync"]:
                os.fsync(f.fileno())

    def process(self) -> Status:
        # drain() takes up to batch_size events in a transaction, calls _write, commits; if _write
        # raises, the transaction rolls back and the events stay in the channel.  The events come as a
        # read-only sequence: a list, or a flumepy.core.event.EventBatch a source handed over whole.
        return self.drain(self.batch_size, self._write)
