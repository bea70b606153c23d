"""logger sink: Flume's ``Event: { headers:{k=v} body: <hex dump> }`` lines at INFO."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.sinks.logger import LoggerSink, format_event, hex_dump
from tests.util import write_conf

PAD = "   "


def make_sink(**values: str) -> LoggerSink:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": "1000", "transactionCapacity": "1000"}))
    ch.TAKE_LINGER = 0
    ch.start()
    sink = LoggerSink("k1")
    sink.configure(Context(values, prefix="a1.sinks.k1."))
    sink.channel = ch
    sink.start()
    return sink


def put(sink: LoggerSink, *events: Event) -> None:
    with sink.channel.transaction() as tx:
        tx.put_batch(list(events))


def test_flume_user_guide_line() -> None:
    # The example line of Flume's user guide, byte for byte.
    line = format_event(Event(b"Hello world!\r"), 16)
    assert line == "Event: { headers:{} body: 48 65 6C 6C 6F 20 77 6F 72 6C 64 21 0D          Hello world!. }"


def test_headers_as_java_map_and_body_truncated_to_max_bytes() -> None:
    line = format_event(Event(b"0123456789", {"host": "web1", "n": "2"}), 4)
    assert line == "Event: { headers:{host=web1, n=2} body: 30 31 32 33 " + PAD * 12 + "0123 }"


def test_empty_body_and_multi_row_dump() -> None:
    assert format_event(Event(b""), 16) == "Event: { headers:{} body: }"
    body = bytes(range(0x41, 0x41 + 20))
    dump = hex_dump(body)
    assert dump == (" 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F 50 ABCDEFGHIJKLMNOP\n"
                    "00000010 51 52 53 54 " + PAD * 12 + "QRST")


def test_sink_logs_each_event_respecting_max_bytes(caplog: pytest.LogCaptureFixture) -> None:
    sink = make_sink(maxBytesToLog="2", batchSize="10")
    put(sink, Event(b"abcdef", {"k": "v"}), Event(b"\x00\xffz"))
    with caplog.at_level(logging.INFO, logger="flumepy.sinks.logger"):
        assert sink.process() is Status.READY
        assert sink.process() is Status.BACKOFF
    lines = [r.getMessage() for r in caplog.records if r.name == "flumepy.sinks.logger"]
    assert lines == [
        "Event: { headers:{k=v} body: 61 62 " + PAD * 14 + "ab }",
        "Event: { headers:{} body: 00 FF " + PAD * 14 + ".. }",
    ]
    assert sink.counters.get("EventDrainSuccessCount") == 2
    assert sink.batch_size == 10


def test_defaults_and_bad_values() -> None:
    sink = make_sink()
    assert sink.settings["maxBytesToLog"] == 16
    assert sink.batch_size == 100
    with pytest.raises(ConfigError) as e:
        LoggerSink("k1").configure(Context({"maxBytesToLog": "-1"}, prefix="a1.sinks.k1."))
    assert "a1.sinks.k1.maxBytesToLog" in str(e.value)


def test_agent_prints_events(tmp_path: Path, agent_process: type) -> None:
    conf = write_conf(tmp_path, """
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = 3
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.sinks.k1.type = logger
        a1.sinks.k1.channel = c1
        """)
    agent = agent_process(conf, "a1").start()
    agent.wait_for_output(r"body: 32 +2 \}")
    assert agent.terminate() == 0
    out = agent.output
    for i in range(3):
        assert f"Event: {{ headers:{{}} body: 3{i} {PAD * 15}{i} }}" in out
