"""Type ``regex_filter``: keeps (or drops) events whose body contains a regex match (Flume's RegexFilteringInterceptor).

Keys: ``regex`` (``.*``, a Java regex searched anywhere in the UTF-8 body), ``excludeEvents``
(false: keep only matching events; true: drop matching events).
"""

from __future__ import annotations

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.interceptors._java import regex_setting


class RegexFilterInterceptor(Interceptor):
    PROPS = (
        Prop("regex", "string", ".*", "Regex searched in the body (UTF-8)."),
        Prop("excludeEvents", "bool", False, "true: drop matching events; false: keep only matching events."),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        rx = regex_setting(ctx, "regex", self.settings["regex"])
        assert rx is not None
        self._search = rx.search
        self._exclude: bool = self.settings["excludeEvents"]
        self._always = rx.pattern in (".*", "")  # matches every body

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        if self._always:
            return [] if self._exclude else events
        search = self._search
        if self._exclude:
            return [e for e in events if search(e.body.decode("utf-8", "surrogateescape")) is None]
        return [e for e in events if search(e.body.decode("utf-8", "surrogateescape")) is not None]
