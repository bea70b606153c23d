"""End to end through the CLI: a failover group whose preferred sink always fails; the backup delivers all."""

from __future__ import annotations

import os
from pathlib import Path

from tests.util import wait_until, write_conf

ROOT = Path(__file__).resolve().parents[2]  # so the agent process can import tests.processors.fakes

N = 250


def test_all_events_arrive_via_backup_sink(tmp_path, agent_process):
    out = tmp_path / "out"
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = bad good
        a1.sinkgroups = g1

        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = {N}
        a1.sources.r1.batchSize = 50
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 1000
        a1.channels.c1.transactionCapacity = 100

        a1.sinks.bad.type = tests.processors.fakes:FailingSink
        a1.sinks.bad.channel = c1
        a1.sinks.good.type = file_roll
        a1.sinks.good.channel = c1
        a1.sinks.good.sink.directory = {out}
        a1.sinks.good.sink.rollInterval = 0

        a1.sinkgroups.g1.sinks = bad good
        a1.sinkgroups.g1.processor.type = failover
        a1.sinkgroups.g1.processor.priority.bad = 10
        a1.sinkgroups.g1.processor.priority.good = 5
        a1.sinkgroups.g1.processor.maxpenalty = 10000
        """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    agent = agent_process(conf, "a1", env=env, cwd=str(ROOT)).start()
    agent.wait_started()

    def lines() -> list[str]:
        files = list(out.glob("*")) if out.exists() else []
        return [ln for f in files for ln in f.read_text().splitlines()]

    wait_until(lambda: len(lines()) >= N, timeout=20, what=f"{N} events in {out}")
    agent.wait_for_output(r"sink bad failed and has been sent to the failover list: bad cannot deliver \d+ events")
    assert agent.terminate() == 0
    got = lines()
    assert sorted(got, key=int) == [str(i) for i in range(N)]  # every event once, none lost or doubled
    assert "all sinks of group g1 failed" not in agent.output
