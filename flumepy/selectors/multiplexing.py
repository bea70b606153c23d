"""Type ``multiplexing``: routes each event by one header's value (Flume's MultiplexingChannelSelector).

Keys: ``header`` (flume.selector.header), ``mapping.<value>`` (required channels for that value),
``optional.<value>`` (optional channels for that value), ``default`` (required channels when the
header is missing, blank or has no mapping).  Optional channels that are already required for the
same value are dropped, as in Flume.  Every channel named must be one of the source's channels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flumepy.core.component import Channel, ChannelSelector
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ConfigError, Problem
from flumepy.core.event import Event

Route = tuple[tuple[int, ...], tuple[int, ...]]  # indexes of required and optional channels


class MultiplexingSelector(ChannelSelector):
    PROPS = (
        Prop("header", "string", "flume.selector.header", "Header whose value picks the channels."),
        Prop("default", "list", [], "Channels for events whose value has no mapping (space-separated)."),
        Prop("mapping.", "string", None, "mapping.<value> = required channels for that header value.",
             prefix=True),
        Prop("optional.", "string", None, "optional.<value> = optional channels for that header value.",
             prefix=True),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._routes: dict[str | None, Route] = {}
        self._default: Route = ((), ())

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._ctx = ctx
        self._header: str = self.settings["header"]
        for key in ("mapping.", "optional."):
            sub: Context = self.settings[key]
            for value, names in sub.items():
                if not names.split() and key == "mapping.":
                    raise sub.error(value, f"no channel configured for header value {value!r}")

    def validate_channels(self) -> None:
        """Resolve channel names against the source's channels; every unknown name is an error."""
        index = {c.name: i for i, c in enumerate(self.channels)}
        problems: list[Problem] = []
        known = ", ".join(c.name for c in self.channels)

        def resolve(ctx: Context, key: str, names: list[str]) -> tuple[int, ...]:
            bad = [n for n in names if n not in index]
            if bad:
                problems.append(ctx.problem(key, f"{', '.join(bad)} not among this source's channels ({known})"))
            return tuple(dict.fromkeys(index[n] for n in names if n in index))

        default = resolve(self._ctx, "default", self.settings["default"])
        mapping: Context = self.settings["mapping."]
        optional: Context = self.settings["optional."]
        required = {v: resolve(mapping, v, names.split()) for v, names in mapping.items()}
        opts = {v: resolve(optional, v, names.split()) for v, names in optional.items()}
        if problems:
            raise ConfigError(problems)
        routes: dict[str | None, Route] = {}
        for value in set(required) | set(opts):
            req = required.get(value, default)
            opt = tuple(i for i in opts.get(value, ()) if i not in req)
            routes[value] = (req, opt)
        self._routes = routes
        self._default = (default, ())

    def _route_of(self, value: str | None) -> Route:
        got = self._routes.get(value)
        if got is not None:
            return got
        return self._default

    def route(self, events: Sequence[Event]) -> list[tuple[Channel, Sequence[Event], bool]]:
        header = self._header
        n = len(self.channels)
        required: list[list[Event]] = [[] for _ in range(n)]
        optional: list[list[Event]] = [[] for _ in range(n)]
        seen: dict[str | None, tuple[Callable[[Event], None], ...]] = {}
        for e in events:
            value = e.headers.get(header)
            appends = seen.get(value)
            if appends is None:
                if value is not None and not value.strip():
                    # blank: default channels, but an optional.<blank> mapping still applies (Flume)
                    req, opt = self._default[0], self._routes.get(value, ((), ()))[1]
                else:
                    req, opt = self._route_of(value)
                appends = seen[value] = tuple(required[i].append for i in req) + \
                    tuple(optional[i].append for i in opt)
            for add in appends:
                add(e)
        chans = self.channels
        out: list[tuple[Channel, Sequence[Event], bool]] = [
            (chans[i], evs, True) for i, evs in enumerate(required) if evs]
        out += [(chans[i], evs, False) for i, evs in enumerate(optional) if evs]
        return out
