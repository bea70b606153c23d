"""Type ``search_replace``: regex search and replace on the body (Flume's SearchAndReplaceInterceptor).

Keys: ``searchPattern`` (required, Java regex), ``replaceString`` (empty when unset; Java syntax:
``$1``, ``${name}``, ``\\$`` for a literal dollar), ``charset`` (UTF-8).  Every match is replaced.
Bytes that are not valid in the charset are kept as they are (Java would turn them into U+FFFD).
"""

from __future__ import annotations

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.interceptors._java import decode, encode, java_replacement, regex_setting


class SearchReplaceInterceptor(Interceptor):
    PROPS = (
        Prop("searchPattern", "string", None, "Regex to search for in the body.", required=True),
        Prop("replaceString", "string", "", "Replacement; $1 or ${name} insert groups."),
        Prop("charset", "charset", "utf-8", "Character set of the body."),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["searchPattern"]:
            raise ctx.error("searchPattern", "is required and may not be empty")
        rx = regex_setting(ctx, "searchPattern", s["searchPattern"])
        assert rx is not None
        try:
            template = java_replacement(s["replaceString"], rx)
        except ValueError as e:
            raise ctx.error("replaceString", f"{s['replaceString']!r} is not valid: {e}") from None
        self._subn = rx.subn
        self._template = template
        self._charset: str = s["charset"]

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        subn, template, cs = self._subn, self._template, self._charset
        for e in events:
            text, n = subn(template, decode(e.body, cs))
            if n:
                e.body = encode(text, cs)
        return events
