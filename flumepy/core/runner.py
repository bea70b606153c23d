"""Runner threads: one drives a sink processor, one drives a pollable source, with Flume's backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flumepy.core.component import Channel, PollableSource, SinkProcessor, Status
from flumepy.core.errors import EventDeliveryError

log = logging.getLogger(__name__)

SINK_BACKOFF_INCREMENT = 1.0
SINK_MAX_BACKOFF = 5.0


class _Runner:
    """A thread calling ``step()`` until stopped, sleeping min(n * increment, max) after backoffs."""

    def __init__(self, name: str, step: Callable[[], Status], increment: float, maximum: float) -> None:
        self.name = name
        self._step = step
        self.increment = increment
        self.maximum = maximum
        self._stop = threading.Event()
        self._wake = threading.Event()  # interrupts a backoff sleep
        self._idle = threading.Event()  # set while the last step found nothing to do
        self._thread: threading.Thread | None = None
        self.failures = 0

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def start(self) -> None:
        self._stop.clear()
        self._wake.clear()
        self._idle.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoffs = 0
        while not self._stop.is_set():
            try:
                status = self._step()
            except EventDeliveryError as e:
                log.error("%s: unable to deliver event: %s", self.name, e)
                self.failures += 1
                self._idle.clear()
                self._sleep(self.maximum)
                continue
            except Exception:
                log.exception("%s: unhandled error, backing off %.1fs", self.name, self.maximum)
                self.failures += 1
                self._idle.clear()
                self._sleep(self.maximum)
                continue
            if status is Status.BACKOFF:
                backoffs += 1
                self._idle.set()
                self._sleep(min(backoffs * self.increment, self.maximum))
            else:
                backoffs = 0
                self._idle.clear()

    def wait_idle(self, timeout: float) -> bool:
        """Block until a step reported BACKOFF (nothing left) or timeout; True when idle."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not stop within %.1fs", self.name, timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class SinkRunner(_Runner):
    """Drives a sink processor.  Backs off as Flume does when its channels are empty (1 s more per
    empty poll, 5 s at most) but, unlike Flume, a commit that puts events in one of its sinks'
    channels ends the backoff at once: events never wait seconds for an idle sink to wake up."""

    def __init__(self, processor: SinkProcessor) -> None:
        super().__init__(f"SinkRunner-{processor.name}", processor.process, SINK_BACKOFF_INCREMENT, SINK_MAX_BACKOFF)
        self.processor = processor
        self._watched: list[Channel] = []

    def _on_put(self) -> None:
        if self._idle.is_set():  # only an empty-channel backoff; failures keep their backoff
            self._wake.set()

    def start(self) -> None:
        self._watched = list({id(s.channel): s.channel for s in self.processor.sinks
                              if getattr(s, "channel", None) is not None}.values())
        for ch in self._watched:
            ch.watch_puts(self._on_put)
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        for ch in self._watched:
            ch.unwatch_puts(self._on_put)
        self._watched = []
        super().stop(timeout)

    def _run(self) -> None:
        try:
            super()._run()
        finally:
            for sink in self.processor.sinks:
                try:
                    sink.settle()
                except Exception:
                    log.exception("%s: sink %s could not settle its last batch", self.name, sink.name)

    def drain(self, timeout: float) -> bool:
        """Let the sinks empty their channels for up to ``timeout`` seconds; True if they did."""
        deadline = time.monotonic() + timeout
        self._idle.clear()
        self._wake.set()
        while time.monotonic() < deadline:
            if not self.running:
                return False
            if self._idle.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
                return True
        return False


class PollableSourceRunner(_Runner):
    def __init__(self, source: PollableSource) -> None:
        inc = source.settings.get("backoffSleepIncrement", 1000) / 1000.0
        mx = source.settings.get("maxBackoffSleep", 5000) / 1000.0
        super().__init__(f"PollableSourceRunner-{source.name}", source.process, inc, mx)
        self.source = source
