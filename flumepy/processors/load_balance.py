"""Type ``load_balance``: spreads work over the group's sinks (Flume's LoadBalancingSinkProcessor).

Keys (under ``processor.``): ``selector`` (round_robin | random), ``backoff`` (false: a failing sink
is tried again right away; true: it is blacklisted for ``min(selector.maxTimeOut, 1000 << fails)``
ms, fails growing while failures follow each other within the backoff + 1 hour), and
``selector.maxTimeOut`` (30000 ms).  Each ``process()`` tries sinks in the selector's order until
one returns (READY or BACKOFF); when all fail or are blacklisted, EventDeliveryError names each.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from flumepy.core.component import Sink, SinkProcessor, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ConfigError, EventDeliveryError

log = logging.getLogger(__name__)

EXP_BACKOFF_COUNTER_LIMIT = 16
CONSIDER_SEQUENTIAL_RANGE_MS = 3600 * 1000


@dataclass
class _State:
    last_fail: float | None = None  # clock ms
    restore: float = float("-inf")  # clock ms
    fails: int = 0
    error: str = ""


class LoadBalanceSinkProcessor(SinkProcessor):
    PROPS = (
        Prop("selector", "string", "round_robin", "Order in which sinks are tried.",
             choices=("round_robin", "random")),
        Prop("backoff", "bool", False, "Blacklist failing sinks for a growing time."),
        Prop("selector.maxTimeOut", "int", 30000, "Longest blacklist time in milliseconds (0: 30000).", min=0),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.clock: Callable[[], float] = time.monotonic  # seconds
        self.random = random.Random()
        self._states: list[_State] = []
        self._next_head = 0

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self._backoff: bool = s["backoff"]
        self._random: bool = s["selector"] == "random"
        self._max_timeout: int = s["selector.maxTimeOut"] or 30000

    def set_sinks(self, sinks: list[Sink]) -> None:  # type: ignore[override]
        super().set_sinks(sinks)
        self._states = [_State() for _ in self.sinks]
        self._next_head = 0

    def validate_sinks(self, ctx: Context) -> None:
        if len(self.sinks) < 2:
            raise ConfigError(ctx.problem("type", f"load_balance needs at least two sinks in the group, "
                                                  f"got {len(self.sinks)}"))

    # -- order -------------------------------------------------------------------------------------
    def _active(self, now: float) -> list[int]:
        if not self._backoff:
            return list(range(len(self.sinks)))
        return [i for i, st in enumerate(self._states) if st.restore < now]

    def order(self, now: float) -> list[int]:
        """Indexes of the sinks to try this time, in order (advances the round-robin head)."""
        active = self._active(now)
        size = len(active)
        if self._random:
            self.random.shuffle(active)
            return active
        if self._next_head >= size:
            self._next_head = 0
        begin = self._next_head
        self._next_head += 1
        if self._next_head == size:
            self._next_head = 0
        return [active[(begin + i) % size] for i in range(size)]

    def _failed(self, i: int, now: float, err: Exception) -> None:
        st = self._states[i]
        st.error = f"{type(err).__name__}: {err}"
        if not self._backoff:
            return
        last_len = min(self._max_timeout, 1000 * (1 << st.fails))
        if st.last_fail is not None and now - st.last_fail < last_len + CONSIDER_SEQUENTIAL_RANGE_MS:
            if st.fails < EXP_BACKOFF_COUNTER_LIMIT:
                st.fails += 1
        else:
            st.fails = 1
        st.last_fail = now
        st.restore = now + min(self._max_timeout, 1000 * (1 << st.fails))

    # -- running -----------------------------------------------------------------------------------
    def process(self) -> Status:
        now = self.clock() * 1000.0
        tried: list[int] = []
        for i in self.order(now):
            sink = self.sinks[i]
            try:
                return sink.process()
            except Exception as e:
                tried.append(i)
                self._failed(i, now, e)
                log.warning("sink %s failed; trying the next sink if there is one: %s", sink.name, e,
                            exc_info=log.isEnabledFor(logging.DEBUG))
        parts = [f"{self.sinks[i].name}: {self._states[i].error}" for i in tried]
        parts += [f"{s.name}: backing off ({st.error})" for i, (s, st) in enumerate(zip(self.sinks, self._states))
                  if i not in tried]
        raise EventDeliveryError(f"all sinks of group {self.name} failed ({'; '.join(parts)})")
