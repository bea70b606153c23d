"""Flume's per-component counters (the attributes its JMX beans and /metrics JSON show)."""

from __future__ import annotations

import time
from collections.abc import Callable

SOURCE_COUNTERS = (
    "EventReceivedCount", "EventAcceptedCount", "AppendReceivedCount", "AppendAcceptedCount",
    "AppendBatchReceivedCount", "AppendBatchAcceptedCount", "OpenConnectionCount", "EventReadFail",
    "ChannelWriteFail", "GenericProcessingFail",
)
CHANNEL_COUNTERS = (
    "EventPutAttemptCount", "EventPutSuccessCount", "EventTakeAttemptCount", "EventTakeSuccessCount",
)
SINK_COUNTERS = (
    "ConnectionCreatedCount", "ConnectionClosedCount", "ConnectionFailedCount", "BatchEmptyCount",
    "BatchUnderflowCount", "BatchCompleteCount", "EventDrainAttemptCount", "EventDrainSuccessCount",
    "EventWriteFail", "ChannelReadFail",
)
COUNTERS_BY_TYPE = {"SOURCE": SOURCE_COUNTERS, "CHANNEL": CHANNEL_COUNTERS, "SINK": SINK_COUNTERS}


class Counters:
    """Monotonic counters of one component plus optional gauges computed on read.

    Increments are plain dict updates (cheap enough to do once per batch on hot paths).
    """

    def __init__(self, type_: str, name: str, extra: tuple[str, ...] = ()) -> None:
        self.type = type_
        self.name = name
        self.values: dict[str, int] = dict.fromkeys(COUNTERS_BY_TYPE.get(type_, ()) + extra, 0)
        self.gauges: dict[str, Callable[[], object]] = {}
        self.start_time = 0
        self.stop_time = 0

    def inc(self, key: str, n: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + n

    def add(self, key: str, n: int) -> None:
        self.values[key] = self.values.get(key, 0) + n

    def get(self, key: str) -> int:
        return self.values.get(key, 0)

    def started(self) -> None:
        self.start_time = int(time.time() * 1000)
        self.stop_time = 0

    def stopped(self) -> None:
        self.stop_time = int(time.time() * 1000)

    def snapshot(self) -> dict[str, str]:
        """Flume's JSON shape: every value a string, plus Type, StartTime and StopTime."""
        out = {k: str(v) for k, v in self.values.items()}
        for k, fn in self.gauges.items():
            out[k] = str(fn())
        out["Type"] = self.type
        out["StartTime"] = str(self.start_time)
        out["StopTime"] = str(self.stop_time)
        return out
