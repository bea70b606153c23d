"""An in-process agent for tests: build from a properties string, run, wait for deliveries, stop.

::

    conf = '''
    a1.sources = r1
    a1.channels = c1
    a1.sinks = k1
    a1.sources.r1.type = flumepy.testing:ListSource
    a1.sources.r1.bodies = a b c
    a1.sources.r1.channels = c1
    a1.channels.c1.type = memory
    a1.sinks.k1.type = flumepy.testing:RecordingSink
    a1.sinks.k1.channel = c1
    '''
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 3)
    assert [e.body for e in events] == [b"a", b"b", b"c"]
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from flumepy.agent import Agent
from flumepy.config.model import build_agent_spec
from flumepy.config.properties import parse_properties
from flumepy.core.component import Channel, Sink, Source
from flumepy.core.errors import Problem
from flumepy.core.event import Event
from flumepy.registry import Registry

T = TypeVar("T")


class Pipeline:
    """A started Agent built from a config string; use as a context manager or call stop()."""

    def __init__(self, agent: Agent, problems: list[Problem]) -> None:
        self.agent = agent
        self.problems = problems  # configuration warnings
        assert agent.topology is not None
        self.topology = agent.topology

    # -- access ------------------------------------------------------------------------------
    def source(self, name: str) -> Source:
        return self.topology.sources[name]

    def channel(self, name: str) -> Channel:
        return self.topology.channels[name]

    def sink(self, name: str) -> Sink:
        return self.topology.sinks[name]

    def metrics(self) -> dict[str, dict[str, str]]:
        return self.agent.metrics()

    def delivered(self, sink: str) -> int:
        """Events the sink has delivered so far (its EventDrainSuccessCount)."""
        return self.sink(sink).counters.get("EventDrainSuccessCount")

    # -- waiting -----------------------------------------------------------------------------
    def wait_until(self, pred: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Poll ``pred`` until it returns something truthy; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            got = pred()
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what or pred}")
            time.sleep(0.02)

    def wait_for(self, sink: str, n: int, timeout: float = 10.0) -> list[Event]:
        """Wait until ``sink`` delivered at least ``n`` events; returns the events if it records them
        (RecordingSink and subclasses), else an empty list."""
        s = self.sink(sink)
        self.wait_until(lambda: self.delivered(sink) >= n, timeout,
                        f"sink {sink} to deliver {n} events (has {self.delivered(sink)})")
        snapshot: Any = getattr(s, "snapshot", None)
        return list(snapshot()) if callable(snapshot) else []

    # -- lifecycle ----------------------------------------------------------------------------
    def stop(self) -> None:
        self.agent.stop()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def run_pipeline(config_text: str, agent_name: str, registry: Registry | None = None, *,
                 drain_timeout: float = 2.0, sink_backoff: float | None = 0.05) -> Pipeline:
    """Build and start an agent from Flume properties text; raises ConfigError on config errors.

    ``sink_backoff`` caps the sink runners' sleep after an empty poll or a failure (Flume's 1 s
    steps up to 5 s) so tests with failing sinks do not wait seconds; None keeps Flume's timing.
    """
    props = parse_properties(textwrap.dedent(config_text), "<pipeline>")
    spec = build_agent_spec(props, agent_name)
    agent = Agent(registry if registry is not None else Registry.from_entry_points(), drain_timeout=drain_timeout)
    topo, problems = agent.build(spec)
    agent.start(topo)
    if sink_backoff is not None:
        # The runners are the agent's own; only their sleep lengths change (a test-only knob).
        for runner in agent._sink_runners.values():
            runner.increment = runner.maximum = sink_backoff
            runner._wake.set()
    return Pipeline(agent, problems)
