"""Type ``static``: sets one fixed header (Flume's StaticInterceptor).

Keys: ``key`` (key), ``value`` (value), ``preserveExisting`` (**true**, unlike timestamp/host).
"""

from __future__ import annotations

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event


class StaticInterceptor(Interceptor):
    PROPS = (
        Prop("key", "string", "key", "Header name."),
        Prop("value", "string", "value", "Header value."),
        Prop("preserveExisting", "bool", True, "Keep the header when the event already has it."),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._key: str = self.settings["key"]
        self._value: str = self.settings["value"]
        self._preserve: bool = self.settings["preserveExisting"]

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        key, value = self._key, self._value
        if self._preserve:
            for e in events:
                e.headers.setdefault(key, value)
        else:
            for e in events:
                e.headers[key] = value
        return events
