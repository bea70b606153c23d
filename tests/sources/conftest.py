"""Fixtures for source tests: a real MemoryChannel behind a real ChannelProcessor."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context
from flumepy.core.event import Event
from flumepy.core.processor import ChannelProcessor
from flumepy.selectors.replicating import ReplicatingSelector


class Wired:
    """A source wired to one memory channel, as the agent wires it."""

    def __init__(self, source: EventDrivenSource, channel: MemoryChannel) -> None:
        self.source = source
        self.channel = channel

    def take(self, n: int = 10_000) -> list[Event]:
        """Everything currently in the channel (up to n), committed."""
        out: list[Event] = []
        while len(out) < n and self.channel.size():
            with self.channel.transaction() as tx:
                got = tx.take_batch(min(n - len(out), self.channel.transaction_capacity))
            out.extend(got)
        return out

    def bodies(self) -> list[bytes]:
        return [e.body for e in self.take()]


@pytest.fixture
def wire() -> Iterator[Callable[..., Wired]]:
    """wire(SourceClass, {settings}, capacity=..., transactionCapacity=..., keep_alive=...) -> Wired."""
    made: list[Wired] = []

    def make(cls: type[EventDrivenSource], settings: dict[str, str], capacity: int = 10_000,
             transaction_capacity: int = 100, keep_alive: int = 0) -> Wired:
        ch = MemoryChannel("c1")
        ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(transaction_capacity),
                              "keep-alive": str(keep_alive)}))
        sel = ReplicatingSelector("r1.selector")
        sel.configure(Context())
        sel.set_channels([ch])
        src = cls("r1")
        src.configure(Context(settings, prefix="a1.sources.r1."))
        src.channel_processor = ChannelProcessor(sel)
        ch.start()
        w = Wired(src, ch)
        made.append(w)
        return w

    yield make
    for w in made:
        w.source.stop()
        w.channel.stop()
