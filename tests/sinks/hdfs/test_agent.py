"""End to end: a Flume-style config (seq -> memory -> hdfs) run by ``flumepy agent`` on a local directory."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.sinks.hdfs.seqread import parse
from tests.util import run_cli, wait_until, write_conf

CONF = """
    a1.sources = r1
    a1.channels = c1
    a1.sinks = k1
    a1.sources.r1.type = seq
    a1.sources.r1.totalEvents = {n}
    a1.sources.r1.batchSize = 100
    a1.sources.r1.channels = c1
    a1.sources.r1.interceptors = ts
    a1.sources.r1.interceptors.ts.type = timestamp
    a1.channels.c1.type = memory
    a1.channels.c1.capacity = 10000
    a1.channels.c1.transactionCapacity = 1000
    a1.sinks.k1.type = hdfs
    a1.sinks.k1.channel = c1
    a1.sinks.k1.hdfs.path = {path}/%Y-%m-%d
    a1.sinks.k1.hdfs.batchSize = 1000
    a1.sinks.k1.hdfs.rollCount = 2000
    a1.sinks.k1.hdfs.rollSize = 0
    a1.sinks.k1.hdfs.rollInterval = 0
    {extra}
"""


def all_files(root: Path) -> list[Path]:
    return sorted((Path(d) / n for d, _, names in os.walk(root) for n in names),
                  key=lambda p: int(p.name.split(".")[1]))


def test_seq_to_hdfs_sequence_files_on_a_local_dir(tmp_path: Path, agent_process: type) -> None:
    out = tmp_path / "flumedata"
    conf = write_conf(tmp_path, CONF.format(n=5000, path=f"file://{out}", extra="a1.sinks.k1.hdfs.codeC = gzip"))
    agent = agent_process(conf, "a1").start()
    agent.wait_started()

    def closed_records() -> int:
        return sum(len(parse(p.read_bytes()).records) for p in all_files(out) if not p.name.endswith(".tmp"))

    wait_until(lambda: closed_records() == 4000, 30, what="two closed files of 2000 events")
    assert agent.terminate() == 0
    files = all_files(out)
    assert [p.name.endswith(".gz") for p in files] == [True, True, True]
    bodies = [v for p in files for _, v in parse(p.read_bytes()).records]
    assert bodies == [str(i).encode() for i in range(5000)]


def test_tutorial_style_keys_warn_and_crash_recovery_after_kill(tmp_path: Path, agent_process: type) -> None:
    out = tmp_path / "flumedata"
    extra = """a1.sinks.k1.hdfs.fileType = DataStream
    a1.sinks.k1.rollInterval = 0"""
    conf = write_conf(tmp_path, CONF.format(n=3000, path=str(out), extra=extra))
    check = run_cli("check", "-f", str(conf), "-n", "a1")
    assert "a1.sinks.k1.rollInterval: warning: unknown key, ignored; did you mean hdfs.rollInterval?" in \
        check.stdout + check.stderr
    agent = agent_process(conf, "a1").start()
    agent.wait_started()

    def lines() -> int:
        return sum(p.read_bytes().count(b"\n") for p in all_files(out))

    wait_until(lambda: lines() == 3000, 30, what="3000 lines written")
    agent.terminate(sig=signal.SIGKILL)
    assert [p.name.endswith(".tmp") for p in all_files(out)] == [False, True]
    # the restarted agent renames the file the killed one left in use
    conf2 = write_conf(tmp_path, CONF.format(n=0, path=str(out), extra=extra), name="again.conf")
    again = agent_process(conf2, "a1").start()
    again.wait_started()
    wait_until(lambda: not any(p.name.endswith(".tmp") for p in all_files(out)), 20, what="in-use file renamed")
    assert again.terminate() == 0
    data = b"".join(p.read_bytes() for p in all_files(out))
    assert data.splitlines() == [str(i).encode() for i in range(3000)]
