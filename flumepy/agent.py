"""The running agent: start channels -> sinks -> sources, stop in reverse, reload in place.

Stop (SIGTERM/SIGINT): sources stop first, then each sink runner keeps draining its channel for up
to ``drain_timeout`` seconds, then sinks stop (closing and renaming their files), then channels.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from collections.abc import Mapping

from flumepy.config.model import AgentSpec, build_agent_spec
from flumepy.config.properties import load_properties, substitute
from flumepy.core.component import Component, PollableSource
from flumepy.core.errors import ConfigError, Problem
from flumepy.core.runner import PollableSourceRunner, SinkRunner
from flumepy.registry import Registry
from flumepy.topology import Topology, build_topology, errors

log = logging.getLogger(__name__)


def load_agent_spec(path: str, agent: str, system: Mapping[str, str] | None = None) -> AgentSpec:
    """Read, substitute and split a config file. Raises ConfigError only if the file can't be parsed."""
    props = load_properties(path)
    substitute(props, system)
    return build_agent_spec(props, agent)


GC_GEN0_THRESHOLD = 50_000
#: Seconds a thread holding the GIL runs before it must hand it to a waiting one (CPython: 0.005).
#: FLUMEPY_SWITCH_INTERVAL overrides it.
SWITCH_INTERVAL = 0.001


def tune_runtime() -> None:
    """Process-wide interpreter settings for an agent process; ``flumepy agent`` calls it once the agent
    has started (never on import: embedding programs keep their own settings).

    Garbage collector: events are container objects, so with CPython's default generation-0 threshold
    (700 allocations) a pipeline moving a million events a second runs ~1,400 collections a second:
    29% of the run time of ``benchmarks/pipeline.py`` seq-null (0.69 s of 2.36 s, measured with
    gc.callbacks).  Events and their headers never form reference cycles, so collecting every 50,000
    allocations frees nothing later that matters; ``gc.freeze()`` keeps the objects built at start-up
    out of every later collection.

    GIL switch interval: an agent is a few busy threads (sources parsing, sinks encoding) beside
    threads waiting on I/O (an HDFS sync, a Kafka poll).  A thread coming back from I/O waits for the
    GIL until the busy thread's switch interval ends, 5 ms by default, on every call: with one busy
    Python thread beside it, 100 KB write+sync calls to HDFS went from ~420/s alone to ~80/s; at 1 ms
    they reach ~180/s (0.5 ms: ~220/s) while the busy thread keeps ~95% of its speed.  Shorter intervals
    cost CPU-bound pipelines context switches: syslogtcp with 4 connections lost ~15% at 0.5 ms and
    nothing measurable at 1 ms.
    """
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 100)
    sys.setswitchinterval(_switch_interval(os.environ.get("FLUMEPY_SWITCH_INTERVAL")))


def _switch_interval(text: str | None) -> float:
    """FLUMEPY_SWITCH_INTERVAL (seconds) when set to a positive number; otherwise, with a warning when it
    was set to something else, SWITCH_INTERVAL."""
    if not text:
        return SWITCH_INTERVAL
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1:
        log.warning("FLUMEPY_SWITCH_INTERVAL=%r is not a number of seconds between 0 and 1 (e.g. 0.001); "
                    "using %g", text, SWITCH_INTERVAL)
        return SWITCH_INTERVAL
    return value


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.level != "error"))


class Agent:
    """Owns one topology and its runner threads."""

    def __init__(self, registry: Registry, drain_timeout: float = 10.0, restart_interval: float = 3.0) -> None:
        self.registry = registry
        self.drain_timeout = drain_timeout
        self.restart_interval = restart_interval
        # Channels, sources and sink groups whose start() failed (a port in use, a missing directory, a
        # locked file channel): retried every restart_interval seconds, as Flume's supervisor does, until
        # they start or the agent stops.  Sources and sink groups attached to a channel that is not
        # started wait (not started, one log line) until it is.
        self._failed: dict[tuple[str, str], Component] = {}
        self._supervisor: threading.Thread | None = None
        self._supervisor_stop = threading.Event()
        self.topology: Topology | None = None
        self._sink_runners: dict[str, SinkRunner] = {}
        self._source_runners: dict[str, PollableSourceRunner] = {}
        self._lock = threading.RLock()

    # -- building ----------------------------------------------------------------------------
    def build(self, spec: AgentSpec, strict: bool = False) -> tuple[Topology, list[Problem]]:
        """Build a topology from a spec; raises ConfigError (with warnings too) if it has errors."""
        topo, problems = build_topology(spec, self.registry, self.topology)
        problems = sort_problems(problems)
        bad = errors(problems) or (problems if strict else [])
        if bad:
            raise ConfigError(problems)
        return topo, problems

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, topo: Topology) -> None:
        with self._lock:
            self.topology = topo
            for name, ch in topo.channels.items():
                if not _start(ch):
                    self._failed[("channel", name)] = ch
            for name, proc in topo.processors.items():
                self._start_sink_group(name, proc)
            for src in topo.sources.values():
                self._start_source(src)
            if self._supervisor is None:
                self._supervisor_stop.clear()
                self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
                self._supervisor.start()

    def _supervise(self) -> None:
        attempts: dict[tuple[str, str], int] = {}
        while not self._supervisor_stop.wait(self.restart_interval):
            with self._lock:
                topo = self.topology
                # Channels first, so the sources and sinks waiting for them start in the same round.
                failed = sorted(self._failed.items(), key=lambda kv: kv[0][0] != "channel")
                for key, comp in failed:
                    kind, name = key
                    del self._failed[key]
                    if _current(topo, kind, name) is not comp:
                        continue  # removed or replaced by a reload
                    if kind != "channel" and self._waiting_for(kind, name):
                        self._failed[key] = comp  # its channel is still down: not an attempt
                        continue
                    attempts[key] = attempts.get(key, 1) + 1
                    if kind == "channel":
                        if not _start(comp):
                            self._failed[key] = comp
                    elif kind == "source":
                        self._start_source(comp)
                    else:
                        self._start_sink_group(name, comp)
                    if key not in self._failed:
                        log.info("%s %s started on attempt %d", kind, name, attempts.pop(key))

    def _waiting_for(self, kind: str, name: str) -> list[str]:
        """Channels of a source or sink group that failed to start (and are being retried)."""
        topo = self.topology
        if topo is None:
            return []
        if kind == "source":
            chans = topo.source_channels.get(name, [])
        else:
            chans = [topo.sink_channel.get(s, "") for s in topo.group_sinks.get(name, [name])]
        return [c for c in dict.fromkeys(chans) if ("channel", c) in self._failed]

    def _defer(self, kind: str, name: str, comp: Component) -> bool:
        """Keep a source or sink group from starting while its channel is down (logged once)."""
        down = self._waiting_for(kind, name)
        if not down:
            return False
        if (kind, name) not in self._failed:
            log.warning("%s %s waits for channel %s, which failed to start; it starts once the channel does "
                        "(retried every %gs)", kind, name, ", ".join(down), self.restart_interval)
        self._failed[(kind, name)] = comp
        return True

    def _start_sink_group(self, name: str, proc: Component) -> None:
        if self._defer("sink group", name, proc):
            return
        if not _start(proc):
            self._failed[("sink group", name)] = proc
            return
        runner = SinkRunner(proc)  # type: ignore[arg-type]
        runner.start()
        self._sink_runners[name] = runner

    def _start_source(self, src: Component) -> None:
        if self._defer("source", src.name, src):
            return
        if not _start(src):
            self._failed[("source", src.name)] = src
            return
        if isinstance(src, PollableSource):
            runner = PollableSourceRunner(src)
            runner.start()
            self._source_runners[src.name] = runner

    def _stop_source(self, name: str) -> None:
        assert self.topology is not None
        runner = self._source_runners.pop(name, None)
        if runner is not None:
            runner.stop()
        _stop(self.topology.sources[name])

    def _stop_sink_group(self, name: str, drain: bool) -> None:
        assert self.topology is not None
        runner = self._sink_runners.pop(name, None)
        if runner is not None:
            if drain and self.drain_timeout > 0:
                if not runner.drain(self.drain_timeout):
                    log.warning("sink group %s did not empty its channel within %.0fs; the rest stays in "
                                "the channel", name, self.drain_timeout)
            runner.stop()
        proc = self.topology.processors.get(name)
        if proc is not None:
            _stop(proc)

    def stop(self) -> None:
        sup = self._supervisor
        if sup is not None:
            self._supervisor_stop.set()
            sup.join(5)
            self._supervisor = None
        with self._lock:
            self._failed.clear()
            topo = self.topology
            if topo is None:
                return
            for name in list(topo.sources):
                self._stop_source(name)
            for name in list(topo.processors):
                self._stop_sink_group(name, drain=True)
            for ch in topo.channels.values():
                _stop(ch)
            self.topology = None

    # -- reload ------------------------------------------------------------------------------
    def reload(self, spec: AgentSpec, strict: bool = False) -> list[Problem]:
        """Apply a new config: unchanged components keep running, channels keep their events.

        Raises ConfigError (and changes nothing) if the new config has errors.
        """
        with self._lock:
            old = self.topology
            new, problems = self.build(spec, strict)
            if old is None:
                self.start(new)
                return problems
            keep = {id(c) for c in new.components()}
            # Sources that are replaced or removed stop first, then sink groups, then channels.
            for name, src in list(old.sources.items()):
                if id(src) not in keep or new.sources.get(name) is not src:
                    self._stop_source(name)
            new_procs = {id(p) for p in new.processors.values()}
            for name in list(old.processors):
                reuse = old.processors[name]
                same = all(id(s) in keep for s in reuse.sinks) and \
                    new.group_sinks.get(name) == old.group_sinks.get(name) and \
                    _group_fingerprint(old, name) == _group_fingerprint(new, name)
                if same:
                    new.processors[name] = reuse  # keep the running runner and its sinks
                elif id(reuse) not in new_procs:
                    self._stop_sink_group(name, drain=False)
            for name, ch in old.channels.items():
                if new.channels.get(name) is not ch:
                    _stop(ch)
            for name, ctx in new.reconfigure.items():
                try:
                    new.channels[name].configure(ctx)
                    log.info("channel %s reconfigured in place", name)
                except Exception:
                    log.exception("channel %s could not be reconfigured; it keeps its previous settings", name)
            self.topology = new
            for name, ch in new.channels.items():
                if old.channels.get(name) is not ch and not _start(ch):
                    self._failed[("channel", name)] = ch
            for name, proc in new.processors.items():
                if name not in self._sink_runners:
                    self._start_sink_group(name, proc)
            for name, src in new.sources.items():
                if old.sources.get(name) is not src:
                    self._start_source(src)
            log.info("configuration reloaded: %d sources, %d channels, %d sinks", len(new.sources),
                     len(new.channels), len(new.sinks))
            return problems

    # -- monitoring --------------------------------------------------------------------------
    def metrics(self) -> dict[str, dict[str, str]]:
        """Flume's /metrics JSON: {"CHANNEL.c1": {"ChannelSize": "0", ...}, ...}."""
        topo = self.topology
        if topo is None:
            return {}
        out = {}
        for comp in topo.components():
            c = comp.counters
            out[f"{c.type}.{comp.name}"] = c.snapshot()
        return out


def _current(topo: Topology | None, kind: str, name: str) -> Component | None:
    """The component a supervisor entry names in the current topology (None once removed)."""
    if topo is None:
        return None
    comps: Mapping[str, Component] = (
        topo.sources if kind == "source" else topo.channels if kind == "channel" else topo.processors)
    return comps.get(name)


def _group_fingerprint(topo: Topology, name: str) -> object:
    """A sink group's own settings (processor type, priorities...); None for a solo sink."""
    gs = topo.spec.sinkgroups.get(name)
    return gs.fingerprint() if gs is not None else None


def _start(comp: Component) -> bool:
    try:
        comp.start()
        return True
    except Exception as e:
        comp.lifecycle = "ERROR"
        log.error("%s %s failed to start: %s", comp.KIND, comp.name, e, exc_info=log.isEnabledFor(logging.DEBUG))
        return False


def _stop(comp: Component) -> None:
    try:
        comp.stop()
    except Exception:
        log.exception("%s %s failed to stop cleanly", comp.KIND, comp.name)
