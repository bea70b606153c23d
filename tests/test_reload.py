"""Config reload: the file watcher, Agent.reload, and a running agent picking up edits of its file."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import Path

from flumepy.agent import Agent, load_agent_spec
from flumepy.core.component import SinkProcessor, Status
from flumepy.core.context import Prop
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.registry import Registry
from flumepy.reload import ConfigWatcher
from tests.util import AgentProcess, free_port, wait_until, write_conf


# -- the watcher ---------------------------------------------------------------------------------
class Calls:
    """An on_change callback that records calls and whether two ever overlapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[str] = []
        self.active = 0
        self.overlapped = False
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.active += 1
            self.overlapped |= self.active > 1
        self.seen.append(self.path.read_text())
        with self._lock:
            self.active -= 1


def replace_file(path: Path, text: str) -> None:
    """Save as editors do: write a temporary file, then rename it over the original."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_watcher_sees_in_place_writes_and_renames(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("v1\n")
    calls = Calls(conf)
    w = ConfigWatcher(str(conf), calls, poll_interval=60)
    w.start()
    try:
        conf.write_text("v2\n")
        wait_until(lambda: calls.seen == ["v2\n"], what="the in-place write")
        replace_file(conf, "v3\n")
        wait_until(lambda: calls.seen == ["v2\n", "v3\n"], what="the rename over the file")
        # A write of identical content, or a change to another file, is not a change.
        conf.write_text("v3\n")
        (tmp_path / "other.conf").write_text("x")
        replace_file(conf, "v4\n")
        wait_until(lambda: calls.seen[-1] == "v4\n", what="the next change")
        assert calls.seen == ["v2\n", "v3\n", "v4\n"]
    finally:
        w.stop()


def test_watcher_debounces_bursts_and_never_overlaps_calls(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("0\n")
    calls = Calls(conf)
    w = ConfigWatcher(str(conf), calls, poll_interval=60, debounce=0.5)
    w.start()
    try:
        for i in range(1, 21):
            conf.write_text(f"{i}\n")
        wait_until(lambda: calls.seen and calls.seen[-1] == "20\n", what="the burst to be seen")
        assert len(calls.seen) <= 2  # twenty writes, one (at most two) reloads
        assert not calls.overlapped
    finally:
        w.stop()


def test_watcher_polls_when_events_are_unavailable(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("v1\n")
    calls = Calls(conf)
    w = ConfigWatcher(str(conf), calls, poll_interval=0.2, events=False)
    w.start()
    try:
        replace_file(conf, "v2 longer\n")
        wait_until(lambda: calls.seen == ["v2 longer\n"], what="the poll to notice the change")
        conf.unlink()  # a missing file keeps the running config and is not a change
        replace_file(conf, "v3\n")
        wait_until(lambda: calls.seen[-1:] == ["v3\n"], what="the file to come back")
    finally:
        w.stop()


def test_watcher_survives_a_failing_callback(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("v1\n")
    seen: list[str] = []

    def on_change() -> None:
        seen.append(conf.read_text())
        if len(seen) == 1:
            raise RuntimeError("boom")

    w = ConfigWatcher(str(conf), on_change, poll_interval=60)
    w.start()
    try:
        conf.write_text("v2\n")
        wait_until(lambda: seen == ["v2\n"])
        conf.write_text("v3\n")
        wait_until(lambda: seen == ["v2\n", "v3\n"], what="a second change after a failed reload")
    finally:
        w.stop()
    w.stop()  # idempotent


# -- Agent.reload in process ---------------------------------------------------------------------
HOLD = """
    a1.sources = r1
    a1.channels = c1
    a1.sinks = k1
    a1.sources.r1.type = seq
    a1.sources.r1.totalEvents = 0
    a1.sources.r1.channels = c1
    a1.channels.c1.type = memory
    a1.channels.c1.capacity = {capacity}
    a1.sinks.k1.type = null
    a1.sinks.k1.channel = c1
    {extra}
"""


def _spec(tmp_path: Path, capacity: int = 100, extra: str = "") -> object:
    conf = write_conf(tmp_path, HOLD.format(capacity=capacity, extra=extra))
    return load_agent_spec(str(conf), "a1")


def test_rejected_reload_changes_nothing(tmp_path: Path, registry: Registry) -> None:
    agent = Agent(registry, drain_timeout=0)
    topo, _ = agent.build(_spec(tmp_path))  # type: ignore[arg-type]
    agent.start(topo)
    try:
        c1 = topo.channels["c1"]
        bad = _spec(tmp_path, capacity=500, extra="a1.sinks.k1.batchSize = zero")
        try:
            agent.reload(bad)  # type: ignore[arg-type]
        except ConfigError as e:
            assert "a1.sinks.k1.batchSize: 'zero' is not valid" in str(e)
        else:
            raise AssertionError("a config with a bad value was applied")
        assert agent.topology is topo
        assert c1.capacity == 100  # the new capacity was not applied to the running channel
        agent.reload(_spec(tmp_path, capacity=500))  # type: ignore[arg-type]
        assert agent.topology is not None and agent.topology.channels["c1"] is c1
        assert c1.capacity == 500
    finally:
        agent.stop()


def test_capacity_change_keeps_events_and_unchanged_components(tmp_path: Path, registry: Registry) -> None:
    agent = Agent(registry, drain_timeout=0)
    # k1 reads c2, so the events put in c1 stay there.
    c2 = "a1.channels = c1 c2\na1.channels.c2.type = memory\na1.sinks.k1.channel = c2\n"
    topo, _ = agent.build(_spec(tmp_path, extra=c2))  # type: ignore[arg-type]
    agent.start(topo)
    try:
        c1, r1, k1 = topo.channels["c1"], topo.sources["r1"], topo.sinks["k1"]
        with c1.transaction() as tx:
            tx.put_batch([Event(str(i).encode()) for i in range(30)])
        agent.reload(_spec(tmp_path, capacity=200, extra=c2))  # type: ignore[arg-type]
        new = agent.topology
        assert new is not None
        assert new.channels["c1"] is c1 and c1.size() == 30 and c1.capacity == 200
        assert new.sources["r1"] is r1 and new.sinks["k1"] is k1
        # r1's batch no longer fits the reconfigured channel: rejected, although r1 itself is unchanged.
        agent.reload(_spec(tmp_path, extra=c2 + "a1.sources.r1.batchSize = 50"))  # type: ignore[arg-type]
        r1 = agent.topology.sources["r1"]  # type: ignore[union-attr]
        try:
            agent.reload(_spec(tmp_path, extra=c2 + "a1.sources.r1.batchSize = 50\n"  # type: ignore[arg-type]
                                              "a1.channels.c1.transactionCapacity = 10"))
        except ConfigError as e:
            assert "batch size 50 is larger than channel c1's transactionCapacity 10" in str(e)
        else:
            raise AssertionError("batchSize > transactionCapacity was accepted")
        assert c1.transaction_capacity == 100 and c1.size() == 30
    finally:
        agent.stop()


def test_sink_group_settings_change_is_applied(tmp_path: Path, registry: Registry) -> None:
    group = ("a1.sinks = k1 k2\na1.sinks.k2.type = null\na1.sinks.k2.channel = c1\n"
             "a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1 k2\n"
             "a1.sinkgroups.g1.processor.type = {ptype}\n")
    ptype = "tests.test_reload:TwoSinkProcessor"
    agent = Agent(registry, drain_timeout=0)
    topo, _ = agent.build(_spec(tmp_path, extra=group.format(ptype=ptype)))  # type: ignore[arg-type]
    agent.start(topo)
    try:
        first = topo.processors["g1"]
        agent.reload(_spec(tmp_path, extra=group.format(ptype=ptype) +  # type: ignore[arg-type]
                           "a1.sinkgroups.g1.processor.priority.k1 = 5\n"))
        now = agent.topology.processors["g1"]  # type: ignore[union-attr]
        assert now is not first  # the group's own settings changed: a new processor runs
        assert first.lifecycle == "STOP" and now.lifecycle == "START"
        assert [s.name for s in now.sinks] == ["k1", "k2"]
    finally:
        agent.stop()


class TwoSinkProcessor(SinkProcessor):
    """A minimal group processor (round robin), so this test does not depend on other built-ins."""

    PROPS = (Prop("priority.", prefix=True),)

    def process(self) -> Status:
        statuses = [s.process() for s in self.sinks]
        return Status.READY if Status.READY in statuses else Status.BACKOFF


# -- a running agent -----------------------------------------------------------------------------
BASE = """
    a1.sources = hold feed
    a1.channels = held flow
    a1.sinks = k1
    # 'held' has no sink: its events stay in the channel
    a1.sources.hold.type = seq
    a1.sources.hold.totalEvents = 40
    a1.sources.hold.batchSize = 10
    a1.sources.hold.channels = held
    a1.channels.held.type = memory
    a1.channels.held.capacity = {capacity}
    a1.sources.feed.type = seq
    a1.sources.feed.totalEvents = 20
    a1.sources.feed.channels = flow
    a1.channels.flow.type = memory
    a1.sinks.k1.type = null
    a1.sinks.k1.channel = flow
"""
SECOND_SINK = """
    a1.sinks = k1 k2
    a1.sinks.k2.type = {k2_type}
    a1.sinks.k2.channel = flow
"""


def _metrics(port: int) -> dict[str, dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def test_running_agent_reloads_edits_keeps_events_and_rejects_broken_configs(
        agent_process: type[AgentProcess], tmp_path: Path) -> None:
    port = free_port()
    conf = write_conf(tmp_path, BASE.format(capacity=100))
    agent = agent_process(conf, "a1", ["-i", "1", "-Dflume.monitoring.type=http",
                                       f"-Dflume.monitoring.port={port}", "-Dflume.monitoring.bind=127.0.0.1"])
    agent.start().wait_for_output("serving metrics on")

    def m(comp: str, attr: str) -> str:
        return _metrics(port).get(comp, {}).get(attr, "")

    wait_until(lambda: m("CHANNEL.held", "ChannelSize") == "40", what="40 events held in channel 'held'")
    wait_until(lambda: m("SINK.k1", "EventDrainSuccessCount") == "20")
    started = m("SOURCE.hold", "StartTime")

    # 1. Add a second sink: the rest keeps running, the held events stay.
    replace = conf.with_name("agent.conf.new")
    replace.write_text(conf.read_text() + SECOND_SINK.format(k2_type="logger").replace("\n    ", "\n"))
    os.replace(replace, conf)
    agent.wait_for_output(r"configuration reloaded: 2 sources, 2 channels, 2 sinks")
    metrics = _metrics(port)
    assert "SINK.k2" in metrics
    assert metrics["CHANNEL.held"]["ChannelSize"] == "40"
    assert metrics["SOURCE.hold"]["StartTime"] == started  # not restarted (a new seq would add 40 more)
    assert metrics["SOURCE.hold"]["EventAcceptedCount"] == "40"
    assert metrics["SINK.k1"]["EventDrainSuccessCount"] == "20"

    # 2. Change only the held channel's capacity: reconfigured in place, events kept.
    text = conf.read_text().replace("capacity = 100", "capacity = 250")
    conf.write_text(text)
    agent.wait_for_output(r"channel held reconfigured in place")
    wait_until(lambda: m("CHANNEL.held", "ChannelCapacity") == "250", what="capacity 250 in /metrics")
    assert m("CHANNEL.held", "ChannelSize") == "40"
    assert m("SOURCE.hold", "StartTime") == started

    # 3. Break it: a typo'd sink type and a bad capacity. Both are logged; the old config keeps running.
    broken = text.replace("k2.type = logger", "k2.type = loger").replace("capacity = 250", "capacity = lots")
    conf.write_text(broken)
    out = agent.wait_for_output(r"configuration change in \S+ not applied; still running the previous one")
    assert out is not None
    agent.wait_for_output(r"a1\.sinks\.k2\.type: unknown sink type 'loger'\. Did you mean logger\?")
    agent.wait_for_output(r"a1\.channels\.held\.capacity: 'lots' is not valid")
    metrics = _metrics(port)
    assert set(metrics) == {"SOURCE.hold", "SOURCE.feed", "CHANNEL.held", "CHANNEL.flow", "SINK.k1", "SINK.k2"}
    assert metrics["CHANNEL.held"]["ChannelCapacity"] == "250"
    assert metrics["CHANNEL.held"]["ChannelSize"] == "40"

    # 4. Fix it again: applied.
    conf.write_text(text.replace("k2.type = logger", "k2.type = null"))
    agent.wait_for_output(r"configuration reloaded: 2 sources, 2 channels, 2 sinks(.|\n)*"
                          r"configuration reloaded: 2 sources, 2 channels, 2 sinks")
    assert m("CHANNEL.held", "ChannelSize") == "40"
    assert agent.terminate() == 0


def test_change_made_while_the_agent_starts_is_not_missed(tmp_path: Path) -> None:
    """The watcher compares against what the agent loaded, not what the file holds when it starts."""
    from flumepy.reload import ConfigWatcher, digest

    conf = tmp_path / "agent.conf"
    conf.write_text("a.sources = r\n")
    loaded = digest(str(conf))
    conf.write_text("a.sources = r s\n")  # edited between loading and watching
    calls: list[int] = []
    w = ConfigWatcher(str(conf), lambda: calls.append(1), poll_interval=0.1, events=False, baseline=loaded)
    w.start()
    try:
        wait_until(lambda: calls, 5, what="the reload callback")
    finally:
        w.stop()
    assert calls == [1]
