"""failover: priority order, penalties on a fake clock, recovery, and the all-failed error."""

from __future__ import annotations

import pytest

from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError, EventDeliveryError
from flumepy.processors.failover import FailoverSinkProcessor
from tests.processors.fakes import FakeClock, ScriptedSink, sinks

PREFIX = "a1.sinkgroups.g1.processor."


def processor(props: dict[str, str], group: list[ScriptedSink], clock: FakeClock) -> FailoverSinkProcessor:
    p = FailoverSinkProcessor("g1")
    ctx = Context({"type": "failover", **props}, {k: n for n, k in enumerate(props, start=20)}, PREFIX, "agent.conf")
    p.configure(ctx)
    p.set_sinks(group)
    if hasattr(p, "validate_sinks"):
        p.validate_sinks(ctx)
    p.clock = clock
    return p


def test_highest_priority_sink_does_the_work():
    log: list[str] = []
    clock = FakeClock()
    p = processor({"priority.k1": "5", "priority.k2": "10", "priority.k3": "7"}, sinks(log, "k1", "k2", "k3"), clock)
    assert [p.process() for _ in range(3)] == [Status.READY] * 3
    assert log == ["k2", "k2", "k2"]


def test_unset_priorities_follow_group_order():
    log: list[str] = []
    p = processor({}, sinks(log, "k1", "k2"), FakeClock())
    p.process()
    assert log == ["k1"]  # k1 gets -1, k2 gets -2


def test_backoff_is_not_a_failure():
    log: list[str] = []
    group = sinks(log, "k1", "k2")
    group[0].mode = "backoff"
    p = processor({"priority.k1": "2", "priority.k2": "1"}, group, FakeClock())
    assert p.process() is Status.BACKOFF
    assert log == ["k1"]


def test_failed_sink_parked_with_growing_penalty_then_recovers():
    log: list[str] = []
    clock = FakeClock()
    k1, k2 = sinks(log, "k1", "k2")
    p = processor({"priority.k1": "10", "priority.k2": "5", "maxpenalty": "5000"}, [k1, k2], clock)
    k1.mode = "fail"
    assert p.process() is Status.READY  # k1 fails, k2 takes over in the same call
    assert log == ["k1", "k2"] and p.active is k2
    log.clear()
    clock.advance(1.999)
    p.process()
    assert log == ["k2"]  # first penalty is 2 s: not yet
    clock.advance(0.002)
    p.process()
    assert log == ["k2", "k1", "k2"]  # retried first, fails again (penalty now 4 s), k2 works
    log.clear()
    clock.advance(3.999)
    p.process()
    assert log == ["k2"]
    clock.advance(0.002)
    p.process()
    assert log == ["k2", "k1", "k2"]  # third failure: min(5000, 8000) = 5 s
    log.clear()
    clock.advance(4.999)
    p.process()
    clock.advance(0.002)
    k1.mode = "ok"
    assert p.process() is Status.READY
    assert log == ["k2", "k1"] and p.active is k1  # recovered: back in front
    log.clear()
    p.process()
    assert log == ["k1"]


def test_parked_sink_returning_backoff_stays_parked_and_is_tried_again():
    log: list[str] = []
    clock = FakeClock()
    k1, k2 = sinks(log, "k1", "k2")
    p = processor({"priority.k1": "10", "priority.k2": "5"}, [k1, k2], clock)
    k1.script = ["fail", "backoff"]
    p.process()
    clock.advance(2.5)
    log.clear()
    assert p.process() is Status.BACKOFF  # the parked sink had nothing to do: returned as is
    assert log == ["k1"] and p.active is k2
    log.clear()
    assert p.process() is Status.READY  # due again at once; READY now, so it is live again
    assert log == ["k1"] and p.active is k1


def test_all_sinks_failing_raises_naming_each():
    log: list[str] = []
    clock = FakeClock()
    group = sinks(log, "k1", "k2")
    for s in group:
        s.mode = "fail"
    p = processor({"priority.k1": "1", "priority.k2": "2"}, group, clock)
    with pytest.raises(EventDeliveryError) as ei:
        p.process()
    msg = str(ei.value)
    assert "all sinks of group g1 failed" in msg
    assert "k2: ConnectionError: k2 is down; k1: ConnectionError: k1 is down" in msg
    assert log == ["k2", "k1"]
    log.clear()
    with pytest.raises(EventDeliveryError):
        p.process()  # both parked, not due: nothing is called
    assert log == []
    clock.advance(2.001)
    group[0].mode = "ok"
    assert p.process() is Status.READY  # k2 (due first) fails again, k1 recovers
    assert sorted(log) == ["k1", "k2"] and p.active is group[0]


def test_duplicate_priority_warns_and_later_sink_unused():
    log: list[str] = []
    p = FailoverSinkProcessor("g1")
    ctx = Context({"priority.k1": "5", "priority.k2": "5"}, {"priority.k1": 3, "priority.k2": 4}, PREFIX, "a.conf")
    p.configure(ctx)
    assert [str(w) for w in ctx.problems] == [
        "a.conf:4: a1.sinkgroups.g1.processor.priority.k2: warning: same priority as sink k1: "
        "sink k2 will never be used (as in Flume)"]
    k1, k2 = sinks(log, "k1", "k2")
    p.set_sinks([k1, k2])
    p.clock = FakeClock()
    k1.mode = "fail"
    with pytest.raises(EventDeliveryError):
        p.process()
    assert log == ["k1"]


@pytest.mark.parametrize("props, key, text", [
    ({"priority.k1": "high"}, "priority.k1", "'high' is not valid: expected an integer"),
    ({"maxpenalty": "-1"}, "maxpenalty", "is not valid"),
])
def test_config_errors_name_the_key(props, key, text):
    with pytest.raises(ConfigError) as ei:
        processor(props, sinks([], "k1", "k2"), FakeClock())
    assert f"{PREFIX}{key}: " in str(ei.value) and text in str(ei.value)


def test_start_and_stop_reach_every_sink():
    group = sinks([], "k1", "k2")
    p = processor({}, group, FakeClock())
    p.start()
    assert all(s.started for s in group)
    p.stop()
    assert all(s.lifecycle == "STOP" for s in group)
