"""ChannelProcessor: interceptors -> selector -> required and optional channels (Flume semantics).

A failed put on a required channel raises ChannelError to the source, which retries or reports the
failure to its client; a failed put on an optional channel is logged and otherwise ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flumepy.core.component import ChannelSelector, Interceptor
from flumepy.core.errors import ChannelError
from flumepy.core.event import Event

log = logging.getLogger(__name__)


class ChannelProcessor:
    def __init__(self, selector: ChannelSelector, interceptors: Sequence[Interceptor] = ()) -> None:
        self.selector = selector
        self.interceptors = list(interceptors)

    def process(self, event: Event) -> None:
        self.process_batch([event])

    def process_batch(self, events: Sequence[Event]) -> None:
        """Intercept, route and commit ``events``; raises ChannelError if a required channel fails.

        An EventBatch goes to the channels as it is unless there are interceptors (they get a list).
        """
        if self.interceptors:
            intercepted: list[Event] = events if isinstance(events, list) else list(events)
            for interceptor in self.interceptors:
                intercepted = interceptor.intercept_batch(intercepted)
                if not intercepted:
                    return
            events = intercepted
        routes = self.selector.route(events)
        # Required channels first, in order, then optional ones (Flume's order).
        for required in (True, False):
            for channel, batch, req in routes:
                if req is not required or not batch:
                    continue
                try:
                    with channel.transaction() as tx:
                        tx.put_batch(batch)
                except Exception as e:
                    if required:
                        if isinstance(e, ChannelError):
                            raise
                        raise ChannelError(f"unable to put batch on required channel {channel.name}: {e}") from e
                    log.warning("put on optional channel %s failed: %s", channel.name, e)
