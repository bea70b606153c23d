"""ChannelProcessor: interceptors, then required channels (failure raises), then optional (failure logged)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Interceptor
from flumepy.core.context import Context
from flumepy.core.errors import ChannelError, ChannelFullError
from flumepy.core.event import Event
from flumepy.core.processor import ChannelProcessor
from flumepy.core.transaction import Transaction
from flumepy.selectors.replicating import ReplicatingSelector


def memory(name: str, capacity: int = 10) -> MemoryChannel:
    ch = MemoryChannel(name)
    ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(capacity), "keep-alive": "0"}))
    return ch


def processor(channels: Sequence[MemoryChannel], optional: str = "",
              interceptors: Sequence[Interceptor] = ()) -> ChannelProcessor:
    sel = ReplicatingSelector("r1")
    sel.configure(Context({"optional": optional}, prefix="a1.sources.r1.selector."))
    sel.set_channels(channels)
    sel.validate_channels()
    return ChannelProcessor(sel, interceptors)


def drain(ch: MemoryChannel) -> list[bytes]:
    with ch.transaction() as tx:
        return [e.body for e in tx.take_batch(1000)]


class Upper(Interceptor):
    def intercept_batch(self, events: list[Event]) -> list[Event]:
        return [Event(e.body.upper(), {**e.headers, "seen": "1"}) for e in events]


class DropAll(Interceptor):
    def intercept_batch(self, events: list[Event]) -> list[Event]:
        return []


class Broken(MemoryChannel):
    """A channel whose transactions fail with a non-channel error (a plugin bug)."""

    def transaction(self) -> Transaction:
        raise OSError("disk on fire")


def test_replicates_to_every_channel_through_interceptors() -> None:
    c1, c2 = memory("c1"), memory("c2")
    processor([c1, c2], interceptors=[Upper("u")]).process_batch([Event(b"a"), Event(b"b")])
    assert drain(c1) == [b"A", b"B"] and drain(c2) == [b"A", b"B"]


def test_interceptor_dropping_everything_puts_nothing() -> None:
    c1 = memory("c1")
    processor([c1], interceptors=[DropAll("d"), Upper("u")]).process(Event(b"x"))
    assert c1.size() == 0
    assert c1.counters.values["EventPutAttemptCount"] == 0


def test_required_channel_full_raises_and_optional_ones_are_not_reached() -> None:
    req, opt = memory("req", capacity=2), memory("opt")
    p = processor([opt, req], optional="opt")
    p.process(Event(b"0"))
    with pytest.raises(ChannelFullError, match="req is full"):
        p.process_batch([Event(b"1"), Event(b"2")])
    assert drain(req) == [b"0"]
    assert drain(opt) == [b"0"]  # required channels go first: the optional one never got the failed batch


def test_optional_channel_failure_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    req, opt = memory("req"), memory("opt", capacity=2)
    p = processor([opt, req], optional="opt")
    p.process(Event(b"0"))
    with caplog.at_level(logging.WARNING, logger="flumepy.core.processor"):
        p.process_batch([Event(b"1"), Event(b"2")])
    assert drain(req) == [b"0", b"1", b"2"]
    assert drain(opt) == [b"0"]
    assert any("optional channel opt failed" in r.getMessage() for r in caplog.records)


def test_non_channel_errors_on_a_required_channel_become_channel_errors() -> None:
    bad = Broken("bad")
    bad.configure(Context({}))
    ok = memory("ok")
    p = processor([ok, bad])  # type: ignore[list-item]
    with pytest.raises(ChannelError, match="unable to put batch on required channel bad: disk on fire"):
        p.process_batch([Event(b"x")])
    assert drain(ok) == [b"x"]  # channels before the failing one were committed (Flume does the same)


def test_optional_selector_must_name_the_sources_channels() -> None:
    sel = ReplicatingSelector("r1")
    sel.configure(Context({"optional": "c9"}, {"optional": 7}, "a1.sources.r1.selector.", "f.conf"))
    sel.set_channels([memory("c1")])
    with pytest.raises(Exception, match=r"f.conf:7: a1.sources.r1.selector.optional: c9 not among"):
        sel.validate_channels()
