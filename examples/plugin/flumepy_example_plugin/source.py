"""Type ``lines``: reads a text file once and emits one event per line.

Keys:

* ``path`` (string, required): the file to read.
* ``batchSize`` (int, 100): lines per channel transaction.
* ``fileHeader`` (bool, false): add a ``file`` header holding ``path`` to every event.
* ``backoffSleepIncrement`` / ``maxBackoffSleep`` (ms): the pollable-source backoff.

Line endings (``\\n`` or ``\\r\\n``) are removed from the bodies.  When the channel refuses a batch
(full), the same batch is offered again on the next poll: nothing is dropped.
"""

from __future__ import annotations

import logging
from typing import IO

from flumepy.core.component import POLL_PROPS, PollableSource, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError
from flumepy.core.event import Event, LazyEvent

log = logging.getLogger(__name__)


class LinesSource(PollableSource):
    """Emits the lines of one file, then stays idle."""

    PROPS = (
        Prop("path", "string", None, "File whose lines become events.", required=True),
        Prop("batchSize", "int", 100, "Lines per channel transaction.", min=1),
        Prop("fileHeader", "bool", False, "Add a 'file' header with the path to each event."),
        *POLL_PROPS,
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.path = ""
        self._file: IO[bytes] | None = None
        self._pending: list[Event] = []
        self._headers: dict[str, str] = {}

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)  # fills self.settings from PROPS; bad values raise ConfigError
        self.path = self.settings["path"]
        self.batch_size = self.settings["batchSize"]  # the agent checks it against transactionCapacity
        self._headers = {"file": self.path} if self.settings["fileHeader"] else {}

    def start(self) -> None:
        self._file = open(self.path, "rb")  # I/O belongs in start(), never in configure()
        super().start()

    def stop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().stop()

    def _read_batch(self) -> list[Event]:
        assert self._file is not None
        out = []
        for _ in range(self.batch_size):
            line = self._file.readline()
            if not line:
                break
            body = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
            # Every event gets the same headers: share them until something reads an event's headers
            # (then that event gets its own copy), instead of copying the dict per line.
            out.append(LazyEvent(body, dict.copy, self._headers))
        return out

    def process(self) -> Status:
        if not self._pending:
            if self._file is None:
                return Status.BACKOFF
            self._pending = self._read_batch()
            if not self._pending:
                return Status.BACKOFF  # end of file: the runner backs off
            self.counters.values["EventReceivedCount"] += len(self._pending)
            self.counters.values["AppendBatchReceivedCount"] += 1
        try:
            self.channel_processor.process_batch(self._pending)
        except ChannelError as e:
            self.counters.values["ChannelWriteFail"] += 1
            log.warning("lines source %s: channel refused %d events (%s); retrying", self.name,
                        len(self._pending), e)
            return Status.BACKOFF
        self.counters.values["EventAcceptedCount"] += len(self._pending)
        self.counters.values["AppendBatchAcceptedCount"] += 1
        self._pending = []
        return Status.READY
