"""Type ``remove_header``: removes headers by exact name, from a list, or by regex (Flume's RemoveHeaderInterceptor).

Keys: ``withName`` (one exact name), ``fromList`` (names split by ``fromListSeparator``, default
``\\s*,\\s*``), ``matching`` (Java regex; every header whose whole name matches is removed).
"""

from __future__ import annotations

import re

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.interceptors._java import regex_setting

_CACHE_MAX = 4096  # header names remembered per interceptor for the `matching` test


def java_split(text: str, sep: re.Pattern[str]) -> list[str]:
    """String.split(regex): trailing empty strings removed."""
    parts = sep.split(text)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


class RemoveHeaderInterceptor(Interceptor):
    PROPS = (
        Prop("withName", "string", None, "Exact name of a header to remove."),
        Prop("fromList", "string", None, "Names of headers to remove, separated by fromListSeparator."),
        Prop("fromListSeparator", "string", r"\s*,\s*", "Regex that separates the names in fromList."),
        Prop("matching", "string", None, "Regex; headers whose whole name matches are removed."),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self._with_name: str | None = s["withName"]
        sep = regex_setting(ctx, "fromListSeparator", s["fromListSeparator"])
        assert sep is not None
        self._names: frozenset[str] = frozenset(java_split(s["fromList"], sep)) if s["fromList"] is not None \
            else frozenset()
        if self._with_name is not None:
            self._names |= {self._with_name}
        self._matching = regex_setting(ctx, "matching", s["matching"])
        self._verdict: dict[str, bool] = {}

    def _matches(self, name: str) -> bool:
        got = self._verdict.get(name)
        if got is None:
            assert self._matching is not None
            got = self._matching.fullmatch(name) is not None
            if len(self._verdict) < _CACHE_MAX:
                self._verdict[name] = got
        return got

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        names = self._names
        if self._matching is None:
            if not names:
                return events
            for e in events:
                h = e.headers
                if not h:
                    continue
                for n in names:
                    h.pop(n, None)
            return events
        matches = self._matches
        for e in events:
            h = e.headers
            doomed = [k for k in h if k in names or matches(k)]
            for k in doomed:
                del h[k]
        return events
