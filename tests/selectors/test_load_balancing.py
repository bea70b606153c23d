"""load_balancing: one channel per event, round robin across batches, or random."""

from __future__ import annotations

import collections

import pytest

from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.selectors.load_balancing import LoadBalancingSelector
from tests.selectors.test_multiplexing import channels


def selector(props: dict[str, str], n: int) -> LoadBalancingSelector:
    sel = LoadBalancingSelector("r1")
    sel.configure(Context(props, {k: 5 for k in props}, "a1.sources.r1.selector.", "agent.conf"))
    sel.set_channels(channels(*[f"c{i}" for i in range(1, n + 1)]))
    return sel


def bodies(route) -> list[tuple[str, list[bytes], bool]]:
    return [(c.name, [e.body for e in evs], req) for c, evs, req in route]


def test_round_robin_continues_across_batches():
    sel = selector({}, 3)
    assert bodies(sel.route([Event(b"0"), Event(b"1"), Event(b"2"), Event(b"3")])) == [
        ("c1", [b"0", b"3"], True), ("c2", [b"1"], True), ("c3", [b"2"], True)]
    assert bodies(sel.route([Event(b"4")])) == [("c2", [b"4"], True)]
    assert bodies(sel.route([Event(b"5"), Event(b"6")])) == [("c3", [b"5"], True), ("c1", [b"6"], True)]


def test_random_sends_each_event_to_exactly_one_channel():
    sel = selector({"policy": "RANDOM"}, 3)
    events = [Event(str(i).encode()) for i in range(300)]
    route = sel.route(events)
    assert all(req for _, _, req in route)
    got = sorted(e.body for _, evs, _ in route for e in evs)
    assert got == sorted(e.body for e in events)
    counts = collections.Counter(c.name for c, evs, _ in route for _ in evs)
    assert set(counts) == {"c1", "c2", "c3"}


def test_bad_policy_names_key():
    with pytest.raises(ConfigError, match=r"a1\.sources\.r1\.selector\.policy: 'fair' is not valid: "
                                          r"expected one of: round_robin, random"):
        selector({"policy": "fair"}, 2)
