"""Type ``default``: drives a single sink (what every sink outside a sink group gets)."""

from __future__ import annotations

from flumepy.core.component import SinkProcessor, Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError


class DefaultSinkProcessor(SinkProcessor):
    """Runs exactly one sink: process() is the sink's process()."""

    def validate_sinks(self, ctx: Context) -> None:
        if len(self.sinks) != 1:
            raise ConfigError(ctx.problem("type", f"the default sink processor drives exactly one sink, "
                                                  f"got {len(self.sinks)}; use failover or load_balance"))

    def process(self) -> Status:
        return self.sinks[0].process()
