"""Runner threads: backoff, prompt stop, drain(), and the pollable source runner."""

from __future__ import annotations

import threading

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Sink, Status
from flumepy.core.context import Context
from flumepy.core.event import Event
from flumepy.core.processor import ChannelProcessor
from flumepy.core.runner import PollableSourceRunner, SinkRunner
from flumepy.processors.default import DefaultSinkProcessor
from flumepy.selectors.replicating import ReplicatingSelector
from flumepy.sinks.null import NullSink
from flumepy.sources.seq import SeqSource
from tests.util import wait_until


def memory(capacity: int = 1000) -> MemoryChannel:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": str(capacity), "transactionCapacity": "100", "keep-alive": "0"}))
    ch.start()
    return ch


def null_sink(ch: MemoryChannel, batch: int = 10) -> NullSink:
    sink = NullSink("k1")
    sink.configure(Context({"batchSize": str(batch)}))
    sink.channel = ch
    return sink


def group(sink: Sink) -> DefaultSinkProcessor:
    proc = DefaultSinkProcessor("k1")
    proc.configure(Context())
    proc.set_sinks([sink])
    proc.start()
    return proc


def fill(ch: MemoryChannel, n: int) -> None:
    for start in range(0, n, 100):
        with ch.transaction() as tx:
            tx.put_batch([Event(str(i).encode()) for i in range(start, min(n, start + 100))])


class FailingSink(Sink):
    """Takes a batch and fails to write it (a destination that is down): always rolls back."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.attempts = 0

    def process(self) -> Status:
        def fail(events: list[Event]) -> None:
            self.attempts += 1
            raise OSError("destination down")
        return self.drain(10, fail)


def test_sink_runner_delivers_then_backs_off_and_stops_promptly_from_backoff() -> None:
    ch = memory()
    fill(ch, 250)
    sink = null_sink(ch)
    runner = SinkRunner(group(sink))
    runner.start()
    wait_until(lambda: ch.size() == 0, what="the channel to empty")
    assert runner.wait_idle(5)
    # by now the runner backs off (1s, 2s, ... up to 5s); stop() must interrupt the sleep
    wait_until(lambda: sink.counters.values["BatchEmptyCount"] >= 2, timeout=10, what="two empty polls")
    runner.stop(timeout=2.0)
    assert not runner.running
    c = sink.counters.values
    assert c["EventDrainSuccessCount"] == 250
    assert c["BatchCompleteCount"] == 25


def test_an_idle_sink_wakes_when_events_are_committed_not_when_its_backoff_ends() -> None:
    """Flume's sink sleeps up to maxBackoff after empty polls; a put commit ends that sleep here.
    The backoff is made an hour long so only the wake-up can deliver the events."""
    ch = memory()
    sink = null_sink(ch)
    runner = SinkRunner(group(sink))
    runner.increment = runner.maximum = 3600.0
    runner.start()
    try:
        wait_until(lambda: sink.counters.values["BatchEmptyCount"] >= 1, what="an empty poll")
        assert runner.wait_idle(5)
        fill(ch, 30)
        wait_until(lambda: sink.counters.values["EventDrainSuccessCount"] == 30, timeout=20,
                   what="the sink to wake up and take the events")
    finally:
        runner.stop(timeout=2.0)
    assert ch._put_watchers == []  # stop() unregisters


def failing_runner(events: int = 5) -> tuple[MemoryChannel, FailingSink, SinkRunner]:
    """A runner (not started) for a FailingSink on a channel holding ``events`` events."""
    ch = memory()
    fill(ch, events)
    sink = FailingSink("bad")
    sink.channel = ch
    return ch, sink, SinkRunner(group(sink))


def test_a_failing_sink_keeps_its_backoff_when_events_arrive() -> None:
    ch, sink, runner = failing_runner()
    runner.maximum = 3600.0  # the sleep after an error
    runner.start()
    try:
        wait_until(lambda: sink.attempts >= 1, what="a failed attempt")
        for _ in range(20):
            fill(ch, 1)  # puts must not cut the error backoff short (no retry storm)
        assert not runner._wake.is_set()
        assert sink.attempts == 1
    finally:
        runner.stop(timeout=2.0)


def test_sink_runner_stops_promptly_after_errors() -> None:
    ch, sink, runner = failing_runner()
    runner.start()
    wait_until(lambda: sink.attempts >= 1, what="a failed attempt")
    runner.stop(timeout=2.0)  # the runner sleeps max backoff (5s) after an error: stop interrupts it
    assert not runner.running
    assert runner.failures >= 1
    assert ch.size() == 5  # rolled back, nothing lost
    assert sink.counters.values["EventWriteFail"] >= 1


def test_drain_returns_true_once_the_channel_is_empty() -> None:
    ch = memory()
    sink = null_sink(ch, batch=100)
    runner = SinkRunner(group(sink))
    runner.start()
    wait_until(lambda: sink.counters.values["BatchEmptyCount"] >= 1, what="first empty poll")
    fill(ch, 500)  # arrives while the runner sleeps in backoff
    assert runner.drain(10) is True  # drain wakes it up and waits for an empty poll
    assert ch.size() == 0
    assert sink.counters.values["EventDrainSuccessCount"] == 500
    runner.stop()


def test_drain_gives_up_when_the_sink_cannot_deliver() -> None:
    ch, sink, runner = failing_runner(3)
    runner.start()
    assert runner.drain(0.5) is False
    runner.stop(timeout=2.0)
    assert ch.size() == 3


def test_drain_of_a_stopped_runner_is_false() -> None:
    runner = SinkRunner(group(null_sink(memory())))
    assert runner.drain(1) is False


def test_pollable_source_runner_generates_into_the_channel() -> None:
    ch = memory()
    src = SeqSource("r1")
    src.configure(Context({"batchSize": "7", "totalEvents": "50", "maxBackoffSleep": "100"}))
    sel = ReplicatingSelector("r1")
    sel.configure(Context())
    sel.set_channels([ch])
    src.channel_processor = ChannelProcessor(sel)
    runner = PollableSourceRunner(src)
    assert (runner.increment, runner.maximum) == (1.0, 0.1)
    runner.start()
    src.start()
    assert runner.wait_idle(10)
    runner.stop(timeout=2.0)
    with ch.transaction() as tx:
        assert [int(e.body) for e in tx.take_batch(100)] == list(range(50))
    assert src.counters.values["AppendBatchAcceptedCount"] == 8


def test_runner_survives_unexpected_exceptions() -> None:
    calls = []
    boom = threading.Event()

    class Weird(Sink):
        def process(self) -> Status:
            calls.append(1)
            boom.set()
            raise ValueError("bug in a plugin")

    runner = SinkRunner(group(Weird("w")))
    runner.start()
    assert boom.wait(5)
    assert runner.running  # still alive, backing off
    runner.stop(timeout=2.0)
    assert not runner.running and runner.failures >= 1


class HoldingSink(Sink):
    """Takes one batch and keeps its transaction open across process() calls (as an overlapping sink
    does); settle() commits it and records the thread it ran on."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.tx = None
        self.settled_on: int | None = None

    def process(self) -> Status:
        if self.tx is None:
            self.tx = self.channel.transaction()
            self.tx.begin()
            self.tx.take_batch(10)
        return Status.BACKOFF

    def settle(self) -> None:
        self.settled_on = threading.get_ident()
        if self.tx is not None:
            self.tx.commit()
            self.tx.close()


def test_the_sink_runner_settles_its_sinks_on_its_own_thread_when_it_stops() -> None:
    ch = memory()
    fill(ch, 5)
    sink = HoldingSink("holding")
    sink.channel = ch
    runner = SinkRunner(group(sink))
    runner.start()
    wait_until(lambda: sink.tx is not None, what="the batch to be taken")
    thread = runner._thread
    assert thread is not None
    runner.stop(timeout=2.0)
    assert sink.settled_on == thread.ident  # a transaction belongs to the thread that opened it
    assert ch._in_flight == 0 and ch.size() == 0  # the batch was committed, not left hanging
