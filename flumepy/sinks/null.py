"""Type ``null``: takes events and discards them (Flume's NullSink)."""

from __future__ import annotations

import logging

from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event

log = logging.getLogger(__name__)


class NullSink(Sink):
    PROPS = (
        Prop("batchSize", "int", 100, "Events per transaction.", min=1),
        Prop("logEveryNEvents", "int", 10000, "Log progress every N events.", min=1),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.batch_size = self.settings["batchSize"]
        self._every = self.settings["logEveryNEvents"]
        self._count = 0

    def _discard(self, events: list[Event]) -> None:
        before = self._count
        self._count += len(events)
        if self._count // self._every != before // self._every:
            log.debug("null sink %s: %d events discarded", self.name, self._count)

    def process(self) -> Status:
        return self.drain(self.batch_size, self._discard)
