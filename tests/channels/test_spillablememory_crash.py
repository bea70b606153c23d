"""SPILLABLEMEMORY under ``kill -9``: every acknowledged event that spilled to the overflow survives.

Events in the memory part are lost on a crash (as in Flume); the overflow is the durable file channel.
A netcat source acknowledges each line after its channel commit; the first agent has no sink, so the
memory part fills (memoryCapacity 5) and everything after spills.  It is killed with SIGKILL, a
second agent on the same directories drains into file_roll: the delivered lines are exactly the
acknowledged ones minus at most the 5 that were in memory, in order, none corrupt.
"""

from __future__ import annotations

import socket
from pathlib import Path

from tests.util import AgentProcess, free_port, wait_until, write_conf

MEMORY = 5


def config(tmp: Path, port: int, sink: bool) -> Path:
    sinks = f"""
        a1.sinks = k1
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {tmp / 'out'}
        a1.sinks.k1.sink.rollInterval = 0
        a1.sinks.k1.sink.batchSize = 7
    """ if sink else ""
    return write_conf(tmp, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sources.r1.type = netcat
        a1.sources.r1.bind = 127.0.0.1
        a1.sources.r1.port = {port}
        a1.sources.r1.channels = c1
        a1.channels.c1.type = SPILLABLEMEMORY
        a1.channels.c1.memoryCapacity = {MEMORY}
        a1.channels.c1.overflowCapacity = 10000
        a1.channels.c1.overflowTimeout = 0
        a1.channels.c1.transactionCapacity = 100
        a1.channels.c1.checkpointDir = {tmp / 'checkpoint'}
        a1.channels.c1.dataDirs = {tmp / 'data'}
        a1.channels.c1.minimumRequiredSpace = 1
        {sinks}
    """)


def send_acked(port: int, lines: list[bytes]) -> list[bytes]:
    """Send lines in bursts; return those acknowledged with OK."""
    acked: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        i = 0
        while i < len(lines):
            burst = lines[i:i + (1 if i < 10 else 10)]  # single lines first: they fit in memory
            i += len(burst)
            s.sendall(b"".join(x + b"\n" for x in burst))
            for line in burst:
                assert f.readline() == b"OK\n"
                acked.append(line)
    return acked


def delivered(out: Path) -> list[bytes]:
    return [x for p in sorted(out.glob("*")) for x in p.read_bytes().splitlines()]


def test_spilled_events_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    agent = AgentProcess(config(tmp_path, port, sink=False), "a1").start().wait_started()
    try:
        lines = [b"line-%04d-" % i + b"y" * (i % 50) for i in range(300)]
        acked = send_acked(port, lines)
    finally:
        agent.kill()  # SIGKILL: no checkpoint on close, memory part lost
    assert acked == lines

    port = free_port()
    (tmp_path / "out").mkdir()
    agent = AgentProcess(config(tmp_path, port, sink=True), "a1").start().wait_started()
    try:
        wait_until(lambda: len(delivered(tmp_path / "out")) >= len(acked) - MEMORY, 20,
                   what="spilled events delivered after the restart")
    finally:
        agent.terminate()
    got = delivered(tmp_path / "out")
    lost = len(acked) - len(got)
    assert 0 < lost <= MEMORY, f"{lost} acknowledged events lost (memoryCapacity {MEMORY}: the memory part)"
    assert got == acked[lost:], "the spilled events must come back exactly, in order"
