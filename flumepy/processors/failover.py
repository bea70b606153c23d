"""Type ``failover``: the highest-priority live sink does the work; failed sinks are parked.

Flume's FailoverSinkProcessor.

Keys (under ``processor.``): ``priority.<sink>`` (higher wins; sinks without one get -1, -2, ... in
the group's order), ``maxpenalty`` (30000 ms).  A sink that raises is parked for
``min(maxpenalty, (1 << fails) * 1000)`` ms (2 s, 4 s, 8 s, ...).  On each ``process()`` parked sinks
whose time has come are tried first: READY puts them back in service, BACKOFF leaves them parked
(due again next time), an error parks them longer.  Two sinks with the same priority: the later one
is never used (as in Flume; `flumepy check` warns when both priorities are given).  When every
sink fails, EventDeliveryError names each sink and its error.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flumepy.core.component import Sink, SinkProcessor, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ConfigError, EventDeliveryError, Problem

log = logging.getLogger(__name__)

FAILURE_PENALTY_MS = 1000


@dataclass(order=True)
class _Parked:
    refresh: float  # clock milliseconds at which the sink may be retried
    seq: int
    priority: int = field(compare=False)
    sink: Sink = field(compare=False)
    fails: int = field(compare=False)


class FailoverSinkProcessor(SinkProcessor):
    PROPS = (
        Prop("maxpenalty", "int", 30000, "Longest time in milliseconds a failed sink is parked.", min=0),
        Prop("priority.", "string", None, "priority.<sink> = integer; the highest-priority live sink is used.",
             prefix=True),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.clock: Callable[[], float] = time.monotonic  # seconds
        self._live: dict[int, Sink] = {}  # priority -> sink
        self._parked: list[_Parked] = []  # heap by refresh time
        self._seq = itertools.count()
        self._errors: dict[str, str] = {}  # sink name -> last error
        self._priorities: dict[str, int] = {}
        self._given: dict[str, int] = {}  # priority.<sink> values from the config

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._max_penalty: int = self.settings["maxpenalty"]
        pctx: Context = self.settings["priority."]
        problems: list[Problem] = []
        self._given = {}
        for key, raw in pctx.items():
            try:
                self._given[key] = int(raw.strip())
            except ValueError:
                problems.append(pctx.problem(key, f"{raw!r} is not valid: expected an integer"))
        if problems:
            raise ConfigError(problems)
        owner: dict[int, str] = {}
        for key, prio in self._given.items():
            if prio in owner:
                pctx.warn(key, f"same priority as sink {owner[prio]}: sink {key} will never be used "
                               f"(as in Flume)")
            owner.setdefault(prio, key)
        ctx.problems.extend(pctx.problems)

    def set_sinks(self, sinks: list[Sink]) -> None:  # type: ignore[override]
        super().set_sinks(sinks)
        names = {s.name for s in self.sinks}
        for key in self._given:
            if key not in names:
                log.warning("failover group %s: priority.%s names no sink of the group (%s); ignored",
                            self.name, key, ", ".join(sorted(names)))
        self._assign(self._given)

    def _assign(self, given: dict[str, int]) -> list[Sink]:
        """Fill the live map from priorities; returns the sinks dropped for a duplicate priority."""
        self._live.clear()
        self._parked.clear()
        self._priorities.clear()
        dropped = []
        next_prio = 0
        for sink in self.sinks:
            prio = given.get(sink.name)
            if prio is None:
                next_prio -= 1
                prio = next_prio
            if prio in self._live:
                log.debug("sink %s not used by failover group %s: its priority %d duplicates that of sink %s",
                            sink.name, self.name, prio, self._live[prio].name)
                dropped.append(sink)
                continue
            self._live[prio] = sink
            self._priorities[sink.name] = prio
        return dropped

    # -- running -----------------------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock() * 1000.0

    def _park(self, prio: int, sink: Sink, fails: int) -> None:
        penalty = min(self._max_penalty, (1 << fails) * FAILURE_PENALTY_MS)
        heapq.heappush(self._parked, _Parked(self._now() + penalty, next(self._seq), prio, sink, fails))

    @property
    def active(self) -> Sink | None:
        """The sink that gets the work now: the live one with the highest priority."""
        return self._live[max(self._live)] if self._live else None

    def process(self) -> Status:
        now = self._now()
        while self._parked and self._parked[0].refresh < now:
            cur = heapq.heappop(self._parked)
            try:
                status = cur.sink.process()
            except Exception as e:
                self._errors[cur.sink.name] = f"{type(e).__name__}: {e}"
                log.warning("sink %s failed again (%d times in a row): %s", cur.sink.name, cur.fails + 1, e)
                self._park(cur.priority, cur.sink, cur.fails + 1)
                continue
            if status is Status.READY:
                self._live[cur.priority] = cur.sink
                self._errors.pop(cur.sink.name, None)
                log.info("sink %s recovered and is back in failover group %s", cur.sink.name, self.name)
            else:
                # Still nothing to show: parked again with the same count and refresh (Flume).
                heapq.heappush(self._parked, cur)
            return status
        while self._live:
            prio = max(self._live)
            sink = self._live[prio]
            try:
                return sink.process()
            except Exception as e:
                self._errors[sink.name] = f"{type(e).__name__}: {e}"
                log.warning("sink %s failed and has been sent to the failover list: %s", sink.name, e,
                            exc_info=log.isEnabledFor(logging.DEBUG))
                del self._live[prio]
                self._park(prio, sink, 1)
        detail = "; ".join(f"{p.sink.name}: {self._errors.get(p.sink.name, 'failed')}"
                           for p in sorted(self._parked, key=lambda p: -p.priority))
        raise EventDeliveryError(f"all sinks of group {self.name} failed, nothing left to fail over to ({detail})")
