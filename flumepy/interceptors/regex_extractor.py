"""Type ``regex_extractor``: copies regex groups of the body into headers (Flume's RegexExtractorInterceptor).

Keys: ``regex`` (required, Java regex searched in the UTF-8 body), ``serializers`` (required,
space-separated names, one per group in order), ``serializers.<s>.name`` (header for that group),
``serializers.<s>.type`` (``DEFAULT``: the matched text; or
``org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer`` with
``serializers.<s>.pattern``, a Joda date pattern: the header is the date in epoch milliseconds).

The first match only; groups beyond the serializers are ignored; no match leaves the event as it
is.  Two deviations from Flume, both where Flume would fail: a group that did not take part in the
match sets no header (Flume stores null), and a value the millis serializer cannot parse sets no
header and is logged (Flume throws out of the source's put).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.interceptors._java import joda_to_strptime, regex_setting

log = logging.getLogger(__name__)

_PKG = "org.apache.flume.interceptor."
MILLIS = _PKG + "RegexExtractorInterceptorMillisSerializer"
PASS_THROUGH = _PKG + "RegexExtractorInterceptorPassThroughSerializer"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class MillisSerializer:
    """Parses a date with a strptime format (translated from Joda) into epoch milliseconds.

    A date without a zone is local time, as Joda's default zone is the JVM's.
    """

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt

    def __call__(self, value: str) -> str:
        dt = datetime.strptime(value, self.fmt)
        if dt.tzinfo is None:
            dt = dt.astimezone()  # naive -> local zone
        return str((dt - _EPOCH) // _MS)


def _pass_through(value: str) -> str:
    return value


class RegexExtractorInterceptor(Interceptor):
    PROPS = (
        Prop("regex", "string", None, "Regex with groups, searched in the body (UTF-8).", required=True),
        Prop("serializers", "list", None, "Serializer names, one per regex group, in order.", required=True),
        Prop("serializers.", "string", None, "serializers.<s>.name / .type / .pattern for each serializer.",
             prefix=True),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["regex"]:
            raise ctx.error("regex", "is required and may not be empty")
        rx = regex_setting(ctx, "regex", s["regex"])
        assert rx is not None
        self._search = rx.search
        names: list[str] = s["serializers"]
        if not names:
            raise ctx.error("serializers", "is required: one serializer name per regex group")
        sctx: Context = s["serializers."]
        self._serializers: list[tuple[str, Callable[[str], str]]] = []
        for sname in names:
            one = sctx.sub(sname + ".")
            header = one.get("name")
            if not header:
                raise one.error("name", "is required: the header that receives this group")
            typ = (one.get("type") or "DEFAULT").strip()
            if typ.upper() == "DEFAULT" or typ == PASS_THROUGH:
                self._serializers.append((header, _pass_through))
            elif typ == MILLIS:
                pattern = one.get("pattern")
                if not pattern:
                    raise one.error("pattern", "is required by the millis serializer: a Joda date pattern "
                                               "such as yyyy-MM-dd HH:mm:ss")
                try:
                    fmt = joda_to_strptime(pattern)
                except ValueError as e:
                    raise one.error("pattern", f"{pattern!r} is not valid: {e}") from None
                self._serializers.append((header, MillisSerializer(fmt)))
            else:
                raise one.error("type", f"{typ!r} is not a known serializer: expected DEFAULT or {MILLIS}")
        self._limit = min(rx.groups, len(self._serializers))

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        search, sers, limit = self._search, self._serializers, self._limit
        if limit == 0:
            return events
        for e in events:
            m = search(e.body.decode("utf-8", "surrogateescape"))
            if m is None:
                continue
            groups = m.groups()
            h = e.headers
            for i in range(limit):
                value = groups[i]
                if value is None:
                    continue
                header, ser = sers[i]
                if ser is _pass_through:
                    h[header] = value
                    continue
                try:
                    h[header] = ser(value)
                except ValueError as err:
                    log.warning("%s: cannot convert %r for header %s: %s", self.name, value, header, err)
        return events
