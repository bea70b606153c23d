"""Type ``uuid``: sets a header to a random UUID (Flume's morphline-solr UUIDInterceptor).

Keys: ``headerName`` (id), ``preserveExisting`` (true), ``prefix`` (empty, put before the UUID).
"""

from __future__ import annotations

from uuid import uuid4

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event


class UUIDInterceptor(Interceptor):
    PROPS = (
        Prop("headerName", "string", "id", "Header name."),
        Prop("preserveExisting", "bool", True, "Keep the header when the event already has it."),
        Prop("prefix", "string", "", "Text put before each UUID."),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._header: str = self.settings["headerName"]
        self._preserve: bool = self.settings["preserveExisting"]
        self._prefix: str = self.settings["prefix"]

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        header, prefix, preserve = self._header, self._prefix, self._preserve
        for e in events:
            if preserve and header in e.headers:
                continue
            e.headers[header] = prefix + str(uuid4())
        return events
