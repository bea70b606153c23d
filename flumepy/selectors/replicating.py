"""Type ``replicating`` (the default selector): every event goes to every channel.

``selector.optional`` lists channels whose put failures are logged and ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from flumepy.core.component import Channel, ChannelSelector
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event


class ReplicatingSelector(ChannelSelector):
    PROPS = (Prop("optional", "list", [], "Channels whose failures are ignored (space-separated)."),)

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._ctx = ctx

    def validate_channels(self) -> None:
        names = {c.name for c in self.channels}
        bad = [n for n in self.settings["optional"] if n not in names]
        if bad:
            raise ConfigError(self._ctx.problem(
                "optional", f"{', '.join(bad)} not among this source's channels ({', '.join(sorted(names))})"))

    def route(self, events: Sequence[Event]) -> list[tuple[Channel, Sequence[Event], bool]]:
        optional = self.settings["optional"]
        return [(c, events, c.name not in optional) for c in self.channels]
