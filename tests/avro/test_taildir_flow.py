"""Two tiers through the CLI, both durable: agent A (TAILDIR -> file channel -> avro sink) -> agent B
(avro source -> file channel -> file_roll), with kill -9 of each agent mid-stream.

A restarted A resumes from its position file (positions only cover committed lines) and from its
file channel (events taken but not acknowledged by B are sent again); a restarted B replays its file
channel (everything its avro source acknowledged).  No line may be lost; duplicates are allowed.
"""

from __future__ import annotations

from pathlib import Path

from tests.util import free_port, wait_until, write_conf

PART = 6000  # lines appended per step; four steps


def _delivered(out: Path) -> list[str]:
    return [ln for f in sorted(out.iterdir()) for ln in f.read_text().splitlines()]


def _append(log: Path, start: int, n: int) -> None:
    with log.open("a") as f:
        f.write("".join(f"line {i:06d} of the application log\n" for i in range(start, start + n)))


def test_taildir_two_tier_flow_loses_nothing_when_either_agent_is_killed(agent_process, tmp_path: Path) -> None:
    port = free_port()
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    out.mkdir()
    log = logs / "app.log"
    a_conf = write_conf(tmp_path, f"""
        a.sources = r1
        a.channels = c1
        a.sinks = k1
        a.sources.r1.type = TAILDIR
        a.sources.r1.filegroups = f1
        a.sources.r1.filegroups.f1 = {logs}/app\\.log
        a.sources.r1.positionFile = {tmp_path}/a-positions.json
        a.sources.r1.batchSize = 100
        a.sources.r1.writePosInterval = 200
        a.sources.r1.channels = c1
        a.channels.c1.type = file
        a.channels.c1.checkpointDir = {tmp_path}/a-checkpoint
        a.channels.c1.dataDirs = {tmp_path}/a-data
        a.channels.c1.transactionCapacity = 1000
        a.sinks.k1.type = avro
        a.sinks.k1.channel = c1
        a.sinks.k1.hostname = 127.0.0.1
        a.sinks.k1.port = {port}
        a.sinks.k1.batch-size = 100
        a.sinks.k1.connect-timeout = 2000
        a.sinks.k1.request-timeout = 5000
    """, "a.conf")
    b_conf = write_conf(tmp_path, f"""
        b.sources = r1
        b.channels = c1
        b.sinks = k1
        b.sources.r1.type = avro
        b.sources.r1.bind = 127.0.0.1
        b.sources.r1.port = {port}
        b.sources.r1.channels = c1
        b.channels.c1.type = file
        b.channels.c1.checkpointDir = {tmp_path}/b-checkpoint
        b.channels.c1.dataDirs = {tmp_path}/b-data
        b.channels.c1.transactionCapacity = 1000
        b.sinks.k1.type = file_roll
        b.sinks.k1.channel = c1
        b.sinks.k1.sink.directory = {out}
        b.sinks.k1.sink.rollInterval = 0
        b.sinks.k1.sink.batchSize = 100
    """, "b.conf")

    def at_least(n: int, what: str) -> None:
        wait_until(lambda: len(set(_delivered(out))) >= n, timeout=60, what=what)

    _append(log, 0, PART)
    b = agent_process(b_conf, "b").start().wait_started()
    b.wait_for_output(r"avro source r1 listening")
    a = agent_process(a_conf, "a").start().wait_started()
    at_least(PART // 4, "the first lines at agent B")
    a.kill()  # SIGKILL of the tailing agent while it is sending
    assert len(set(_delivered(out))) < 2 * PART
    _append(log, PART, PART)  # the application keeps writing while A is down
    a = agent_process(a_conf, "a").start().wait_started()
    at_least(PART + PART // 4, "lines at agent B after A's restart")
    _append(log, 2 * PART, PART)
    b.kill()  # SIGKILL of the collector while A is sending
    assert len(set(_delivered(out))) < 3 * PART
    b = agent_process(b_conf, "b").start().wait_started()
    _append(log, 3 * PART, PART)
    expected = {f"line {i:06d} of the application log" for i in range(4 * PART)}
    wait_until(lambda: set(_delivered(out)) >= expected, timeout=90, what=f"all {4 * PART} lines at agent B")
    lines = _delivered(out)
    assert set(lines) == expected  # nothing lost, nothing foreign (repeats allowed)
    assert a.terminate() == 0
    assert b.terminate() == 0
