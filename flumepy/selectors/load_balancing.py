"""Type ``load_balancing``: each event goes to one channel, chosen round robin or at random.

Key: ``policy`` (round_robin | random).  Every channel is required for the events it gets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from flumepy.core.component import Channel, ChannelSelector
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event


class LoadBalancingSelector(ChannelSelector):
    PROPS = (Prop("policy", "string", "round_robin", "How to pick each event's channel.",
                  choices=("round_robin", "random")),)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._next = 0
        self.random = random.Random()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._policy: str = self.settings["policy"]

    def route(self, events: Sequence[Event]) -> list[tuple[Channel, Sequence[Event], bool]]:
        chans = self.channels
        n = len(chans)
        if n == 1:
            return [(chans[0], events, True)]
        if self._policy == "random":
            buckets: list[list[Event]] = [[] for _ in range(n)]
            for e, i in zip(events, self.random.choices(range(n), k=len(events))):
                buckets[i].append(e)
            return [(chans[i], b, True) for i, b in enumerate(buckets) if b]
        # Round robin: event k of the batch goes to channel (start + k) % n.
        start = self._next
        self._next = (start + len(events)) % n
        out = []
        for k in range(min(n, len(events))):
            out.append((chans[(start + k) % n], events[k::n], True))
        return out
