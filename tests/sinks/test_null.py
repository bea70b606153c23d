"""null sink: takes events in batches and discards them, keeping Flume's sink counters."""

from __future__ import annotations

import logging

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.sinks.null import NullSink


def make_sink(**values: str) -> NullSink:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": "10000", "transactionCapacity": "1000"}))
    ch.TAKE_LINGER = 0
    ch.start()
    sink = NullSink("k1")
    sink.configure(Context(values, prefix="a1.sinks.k1."))
    sink.channel = ch
    sink.start()
    return sink


def test_discards_in_batches_and_counts() -> None:
    sink = make_sink(batchSize="100")
    with sink.channel.transaction() as tx:
        tx.put_batch([Event(str(i).encode()) for i in range(250)])
    statuses = [sink.process() for _ in range(4)]
    assert statuses == [Status.READY, Status.READY, Status.READY, Status.BACKOFF]
    assert sink.channel.size() == 0
    c = sink.counters
    assert c.get("EventDrainAttemptCount") == 250
    assert c.get("EventDrainSuccessCount") == 250
    assert c.get("BatchCompleteCount") == 2
    assert c.get("BatchUnderflowCount") == 1
    assert c.get("BatchEmptyCount") == 1
    snap = c.snapshot()
    assert snap["Type"] == "SINK" and snap["EventDrainSuccessCount"] == "250"


def test_progress_logged_every_n_events(caplog: pytest.LogCaptureFixture) -> None:
    sink = make_sink(batchSize="10", logEveryNEvents="25")
    with sink.channel.transaction() as tx:
        tx.put_batch([Event(b"x")] * 60)
    with caplog.at_level(logging.DEBUG, logger="flumepy.sinks.null"):
        while sink.process() is Status.READY:
            pass
    msgs = [r.getMessage() for r in caplog.records if r.name == "flumepy.sinks.null"]
    assert msgs == ["null sink k1: 30 events discarded", "null sink k1: 50 events discarded"]


def test_defaults_and_bad_batch_size() -> None:
    sink = make_sink()
    assert sink.batch_size == 100
    with pytest.raises(ConfigError) as e:
        NullSink("k1").configure(Context({"batchSize": "0"}, prefix="a1.sinks.k1."))
    assert "a1.sinks.k1.batchSize: '0' is not valid: expected a positive integer" in str(e.value)
