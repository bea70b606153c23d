"""Small sinks for sink-processor and agent tests; also usable from configs as
``tests.processors.fakes:FailingSink`` (or ``:StuckOnStopSink``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event


class FailingSink(Sink):
    """Takes a batch from its channel, then fails, so the batch is rolled back for another sink."""

    PROPS = (Prop("batchSize", "int", 100, "Events per transaction.", min=1),)

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.batch_size = self.settings["batchSize"]

    def _fail(self, events: list[Event]) -> None:
        raise OSError(f"{self.name} cannot deliver {len(events)} events")

    def process(self) -> Status:
        return self.drain(self.batch_size, self._fail)


class ScriptedSink(Sink):
    """A sink without a channel whose process() follows a script: "ok", "backoff" or "fail" each call.

    ``log`` records the order in which sinks were called; ``mode`` is used once the script is spent.
    """

    def __init__(self, name: str, log: list[str], mode: str = "ok") -> None:
        super().__init__(name)
        self.log = log
        self.mode = mode
        self.script: list[str] = []
        self.started = False

    def start(self) -> None:
        self.started = True
        super().start()

    def process(self) -> Status:
        self.log.append(self.name)
        mode = self.script.pop(0) if self.script else self.mode
        if mode == "fail":
            raise ConnectionError(f"{self.name} is down")
        return Status.BACKOFF if mode == "backoff" else Status.READY


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sinks(log: list[str], *names: str) -> list[ScriptedSink]:
    return [ScriptedSink(n, log) for n in names]


Factory = Callable[..., object]


class StuckOnStopSink(Sink):
    """Takes nothing; its stop() blocks for ``stopSeconds`` (a sink whose close hangs)."""

    PROPS = (Prop("stopSeconds", "float", 60.0, "How long stop() blocks.", min=0),)

    def process(self) -> Status:
        return Status.BACKOFF

    def stop(self) -> None:
        time.sleep(self.settings["stopSeconds"])
        super().stop()
