"""Type ``timestamp``: sets a header to the current time in epoch milliseconds (Flume's TimestampInterceptor).

Keys: ``headerName`` (timestamp), ``preserveExisting`` (false).  One clock reading serves the whole
batch (Flume reads the clock per event; a batch is intercepted in microseconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event


class TimestampInterceptor(Interceptor):
    PROPS = (
        Prop("headerName", "string", "timestamp", "Header that receives the time in epoch milliseconds."),
        Prop("preserveExisting", "bool", False, "Keep the header when the event already has it."),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.clock: Callable[[], float] = time.time  # seconds since the epoch

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._header: str = self.settings["headerName"]
        self._preserve: bool = self.settings["preserveExisting"]

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        now = str(int(self.clock() * 1000))
        header = self._header
        if self._preserve:
            for e in events:
                e.headers.setdefault(header, now)
        else:
            for e in events:
                e.headers[header] = now
        return events
