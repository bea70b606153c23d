"""flumepy.testing's mock components and run_pipeline, on a real agent in this process."""

from __future__ import annotations

import pytest

from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.registry import Registry
from flumepy.testing import FailingSink, ListSource, RecordingSink, run_pipeline

BASE = """
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.channel = c1
"""


def test_list_source_to_recording_sink_by_class_path() -> None:
    conf = BASE + """
a1.sources.r1.type = flumepy.testing:ListSource
a1.sources.r1.bodies = alpha beta gamma
a1.sinks.k1.type = flumepy.testing.mocks.RecordingSink
"""
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 3)
        assert isinstance(p.sink("k1"), RecordingSink)
        assert p.source("r1").wait_done(5)
    assert [e.body for e in events] == [b"alpha", b"beta", b"gamma"]


def test_failing_sink_events_are_retried_not_lost(registry: Registry) -> None:
    conf = BASE + """
a1.sources.r1.type = flumepy.testing:ListSource
a1.sources.r1.count = 30
a1.sources.r1.batchSize = 10
a1.sinks.k1.type = flumepy.testing:FailingSink
a1.sinks.k1.failures = 3
a1.sinks.k1.batchSize = 10
"""
    with run_pipeline(conf, "a1", registry) as p:
        events = p.wait_for("k1", 30)
        sink = p.sink("k1")
        assert isinstance(sink, FailingSink)
        assert sink.failed_batches == 3
        assert sink.counters.get("EventWriteFail") == 3
    assert [e.body for e in events] == [f"event-{i}".encode() for i in range(30)]


def test_slow_sink_backpressure_makes_the_source_retry_without_dropping() -> None:
    conf = BASE + """
a1.sources.r1.type = flumepy.testing:ListSource
a1.sources.r1.count = 40
a1.sources.r1.batchSize = 5
a1.sources.r1.retryMs = 5
a1.channels.c1.capacity = 10
a1.channels.c1.transactionCapacity = 5
a1.channels.c1.keep-alive = 0
a1.sinks.k1.type = flumepy.testing:SlowSink
a1.sinks.k1.delayMs = 10
a1.sinks.k1.batchSize = 5
"""
    with run_pipeline(conf, "a1") as p:
        events = p.wait_for("k1", 40)
        assert p.source("r1").counters.get("EventAcceptedCount") == 40
    assert [e.body for e in events] == [f"event-{i}".encode() for i in range(40)]


def test_list_source_of_events_keeps_headers(registry: Registry) -> None:
    sent = [Event(b"x", {"host": "h1"}), Event(b"y", {"host": "h2"})]
    registry.register("sources", "fixed", ListSource.of(sent))
    registry.register("sinks", "recording", RecordingSink)
    conf = BASE + """
a1.sources.r1.type = fixed
a1.sinks.k1.type = recording
"""
    with run_pipeline(conf, "a1", registry) as p:
        events = p.wait_for("k1", 2)
        assert p.metrics()["SINK.k1"]["EventDrainSuccessCount"] == "2"
    assert events == sent


def test_pipeline_with_a_bad_config_raises_config_error() -> None:
    conf = BASE + """
a1.sources.r1.type = flumepy.testing:ListSource
a1.sinks.k1.type = flumepy.testing:RecordingSink
a1.sinks.k1.batchSize = many
"""
    with pytest.raises(ConfigError, match=r"a1\.sinks\.k1\.batchSize.*'many'"):
        run_pipeline(conf, "a1")
