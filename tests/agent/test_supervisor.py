"""A source whose start fails (port in use) is retried until it starts, as Flume's supervisor does."""

from __future__ import annotations

import socket

from flumepy.agent import Agent
from flumepy.config.model import build_agent_spec
from flumepy.config.properties import parse_properties
from flumepy.registry import Registry
from tests.util import free_port, wait_until


def _send_line(port: int, line: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(line + b"\n")
        return s.recv(100)


def test_source_with_busy_port_starts_once_the_port_is_free() -> None:
    port = free_port()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    text = f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = netcat
a.sources.r.bind = 127.0.0.1
a.sources.r.port = {port}
a.sources.r.channels = c
a.channels.c.type = memory
a.sinks.k.type = null
a.sinks.k.channel = c
"""
    agent = Agent(Registry.from_entry_points(), drain_timeout=1, restart_interval=0.2)
    topo, _ = agent.build(build_agent_spec(parse_properties(text, "t.conf"), "a"))
    agent.start(topo)
    try:
        assert topo.sources["r"].lifecycle == "ERROR"
        # The rest of the agent runs meanwhile.
        assert topo.channels["c"].lifecycle == "START"
        blocker.close()
        wait_until(lambda: topo.sources["r"].lifecycle == "START", 10, what="netcat source restarted")
        assert _send_line(port, b"hello") == b"OK\n"
        wait_until(lambda: topo.sinks["k"].counters.get("EventDrainSuccessCount") == 1, 10,
                   what="the event reached the sink")
    finally:
        blocker.close()
        agent.stop()


def test_file_channel_locked_at_start_is_retried_and_its_source_and_sink_wait(tmp_path, caplog) -> None:
    """A channel whose start fails (its directories are locked by another file channel) is retried;
    the source and sink attached to it are not started meanwhile (one log line each), then deliver."""
    from flumepy.channels.file import FileChannel
    from flumepy.core.context import Context

    ckpt, data = tmp_path / "ckpt", tmp_path / "data"
    other = FileChannel("other")
    other.configure(Context({"checkpointDir": str(ckpt), "dataDirs": str(data), "minimumRequiredSpace": "0"}))
    other.start()
    text = f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = seq
a.sources.r.totalEvents = 10
a.sources.r.channels = c
a.channels.c.type = file
a.channels.c.checkpointDir = {ckpt}
a.channels.c.dataDirs = {data}
a.sinks.k.type = null
a.sinks.k.channel = c
"""
    agent = Agent(Registry.from_entry_points(), drain_timeout=1, restart_interval=0.2)
    topo, _ = agent.build(build_agent_spec(parse_properties(text, "t.conf"), "a"))
    caplog.set_level("INFO", logger="flumepy.agent")
    agent.start(topo)
    try:
        assert topo.channels["c"].lifecycle == "ERROR"
        assert "in use by another file channel" in caplog.text
        wait_until(lambda: caplog.text.count("channel c failed to start") >= 3, 10, what="channel retried")
        # Neither the source nor the sink started or logged errors while the channel was down.
        assert topo.sources["r"].lifecycle == "IDLE"
        assert topo.sinks["k"].lifecycle == "IDLE"
        assert caplog.text.count("source r waits for channel c") == 1
        assert caplog.text.count("sink group k waits for channel c") == 1
        assert "unhandled error" not in caplog.text
        other.stop()
        wait_until(lambda: topo.channels["c"].lifecycle == "START", 10, what="file channel started")
        wait_until(lambda: topo.sinks["k"].counters.get("EventDrainSuccessCount") == 10, 10,
                   what="the 10 events reached the sink")
        assert "channel c started on attempt" in caplog.text
    finally:
        other.stop()
        agent.stop()
