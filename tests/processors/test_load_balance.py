"""load_balance: round-robin rotation, random order, backoff blacklisting on a fake clock."""

from __future__ import annotations

import random

import pytest

from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError, EventDeliveryError
from flumepy.processors.load_balance import LoadBalanceSinkProcessor
from tests.processors.fakes import FakeClock, ScriptedSink, sinks

PREFIX = "a1.sinkgroups.g1.processor."


def processor(props: dict[str, str], group: list[ScriptedSink], clock: FakeClock) -> LoadBalanceSinkProcessor:
    p = LoadBalanceSinkProcessor("g1")
    ctx = Context({"type": "load_balance", **props}, {k: 7 for k in props} | {"type": 6}, PREFIX, "agent.conf")
    p.configure(ctx)
    p.set_sinks(group)
    p.validate_sinks(ctx)
    p.clock = clock
    return p


def test_round_robin_rotates_start_sink():
    log: list[str] = []
    p = processor({}, sinks(log, "k1", "k2", "k3"), FakeClock())
    for _ in range(7):
        assert p.process() is Status.READY
    assert log == ["k1", "k2", "k3", "k1", "k2", "k3", "k1"]


def test_backoff_status_counts_as_success():
    log: list[str] = []
    group = sinks(log, "k1", "k2")
    group[0].mode = "backoff"
    p = processor({}, group, FakeClock())
    assert [p.process(), p.process()] == [Status.BACKOFF, Status.READY]
    assert log == ["k1", "k2"]


def test_failure_without_backoff_tries_next_and_keeps_failed_sink_in_rotation():
    log: list[str] = []
    group = sinks(log, "k1", "k2", "k3")
    group[1].mode = "fail"
    p = processor({}, group, FakeClock())
    for _ in range(3):
        p.process()
    assert log == ["k1", "k2", "k3", "k3"]


def test_backoff_blacklists_with_exponential_timeout():
    log: list[str] = []
    clock = FakeClock()
    group = sinks(log, "k1", "k2")
    group[0].mode = "fail"
    p = processor({"backoff": "true", "selector.maxTimeOut": "5000"}, group, clock)
    p.process()
    assert log == ["k1", "k2"]  # k1 fails: blacklisted for 2 s
    log.clear()
    for _ in range(3):
        p.process()
    clock.advance(1.999)
    p.process()
    assert log == ["k2"] * 4
    log.clear()
    clock.advance(0.002)
    p.process()
    p.process()
    assert log == ["k1", "k2", "k2"]  # back in rotation, fails again: now 4 s
    log.clear()
    clock.advance(3.999)
    p.process()
    clock.advance(0.002)
    p.process()
    assert log == ["k2", "k1", "k2"]
    log.clear()
    clock.advance(4.999)  # capped by maxTimeOut: min(5000, 8000)
    p.process()
    clock.advance(0.002)
    group[0].mode = "ok"
    p.process()
    p.process()
    assert log[0] == "k2" and sorted(log[1:]) == ["k1", "k2"]  # k1 restored after 5 s, works again


def test_all_failing_raises_naming_each_sink_and_blacklisted_ones():
    clock = FakeClock()
    group = sinks([], "k1", "k2")
    for s in group:
        s.mode = "fail"
    p = processor({"backoff": "true"}, group, clock)
    with pytest.raises(EventDeliveryError) as ei:
        p.process()
    assert "k1: ConnectionError: k1 is down; k2: ConnectionError: k2 is down" in str(ei.value)
    with pytest.raises(EventDeliveryError) as ei:
        p.process()
    assert "k1: backing off (ConnectionError: k1 is down)" in str(ei.value)


def test_random_order_visits_all_sinks():
    log: list[str] = []
    p = processor({"selector": "random"}, sinks(log, "k1", "k2", "k3"), FakeClock())
    p.random = random.Random(7)
    for _ in range(60):
        p.process()
    assert set(log) == {"k1", "k2", "k3"}


def test_needs_two_sinks():
    with pytest.raises(ConfigError, match=r"a1\.sinkgroups\.g1\.processor\.type: load_balance needs at least two"):
        processor({}, sinks([], "k1"), FakeClock())


def test_bad_selector_names_key():
    with pytest.raises(ConfigError, match=r"processor\.selector: 'weighted' is not valid"):
        processor({"selector": "weighted"}, sinks([], "k1", "k2"), FakeClock())
