#!/usr/bin/env python3
"""Throughput of exec -> memory -> hdfs sink, beside raw writes to the same filesystem; prints a table.

    python benchmarks/hdfs_sink.py                          # local directory only
    python benchmarks/hdfs_sink.py --hdfs hdfs://127.0.0.1:8020
    python benchmarks/hdfs_sink.py --start-hdfs             # starts a NameNode + DataNode (tests' fixture code)

Each row runs the real Agent in-process: ``exec cat FILE`` (100-byte lines) -> memory channel -> hdfs
sink (DataStream or SequenceFile, batch 100 or 1000, no rolling), timed from start until the sink has
committed every event (``events/s``, ``vs raw``) and, excluding agent start-up and file creation, from
the first committed batch to the last (``steady ev/s`` and its ``vs raw``; raw is timed the same way,
from its first synced batch). ``raw`` writes the same bytes straight through the filesystem interface in
chunks of one batch, each followed by ``sync()`` (the sink's durability per batch), so ``ratio`` is
pipeline MB/s over raw MB/s for the same batch size, in the same round (``--rounds``: every row is run
that many times, interleaved; the table shows medians). Never used by tests as an assertion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from typing import NamedTuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lines import LINE, write_lines  # noqa: E402

from flumepy.agent import tune_runtime  # noqa: E402
from flumepy.fs import filesystem_for  # noqa: E402
from flumepy.testing.harness import run_pipeline  # noqa: E402


def make_input(workdir: str, events: int) -> str:
    path = os.path.join(workdir, "input.txt")
    if not os.path.exists(path) or os.path.getsize(path) != events * len(LINE):
        write_lines(path, events)
    return path


def run_sink(url: str, src: str, events: int, file_type: str, batch: int) -> float:
    conf = f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = exec
a.sources.r.command = cat {src}
a.sources.r.batchSize = {batch}
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 200000
a.channels.c.transactionCapacity = {max(batch, 1000)}
a.sinks.k.type = hdfs
a.sinks.k.channel = c
a.sinks.k.hdfs.path = {url}
a.sinks.k.hdfs.fileType = {file_type}
a.sinks.k.hdfs.batchSize = {batch}
a.sinks.k.hdfs.rollInterval = 0
a.sinks.k.hdfs.rollSize = 0
a.sinks.k.hdfs.rollCount = 0
"""
    t0 = time.perf_counter()
    p = run_pipeline(conf, "a", drain_timeout=30)
    try:
        deadline = t0 + 600
        first: tuple[float, int] | None = None
        while (done := p.delivered("k")) < events:
            if done and first is None:
                first = (time.perf_counter(), done)
            if time.perf_counter() > deadline:
                raise AssertionError(f"timed out waiting for {events} events delivered")
            time.sleep(0.002)
        t1 = time.perf_counter()
    finally:
        p.stop()
    if first is None:
        first = (t1, events)
    return Timing(t1 - t0, t1 - first[0], events - first[1])


class Timing(NamedTuple):
    total: float  # seconds from start (agent start-up / file create included) to the last commit
    steady: float  # seconds from the first committed batch to the last one
    steady_events: int  # events committed in ``steady``


def run_raw(url: str, events: int, batch: int) -> Timing:
    fs, root = filesystem_for(url)
    data = LINE * batch
    t0 = time.perf_counter()
    first: tuple[float, int] | None = None
    with fs.create(root.rstrip("/") + "/raw.bin") as out:
        left = events
        while left > 0:
            n = min(batch, left)
            out.write(data if n == batch else LINE * n)
            out.sync()
            left -= n
            if first is None:
                first = (time.perf_counter(), n)
    t1 = time.perf_counter()
    assert first is not None
    return Timing(t1 - t0, t1 - first[0], events - first[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--hdfs", help="hdfs://host:port of a running cluster to include")
    ap.add_argument("--start-hdfs", action="store_true", help="start a local NameNode + DataNode for the run")
    ap.add_argument("--no-local", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every row; the table shows medians")
    args = ap.parse_args()
    tune_runtime()  # GC and GIL switch interval as `flumepy agent` sets them
    cluster = None
    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as work:
        if not args.no_local:
            targets.append(("local", os.path.join(work, "out")))
        if args.start_hdfs:
            from tests.fixtures.hdfs import HdfsCluster

            cluster = HdfsCluster(os.path.join(work, "hdfs")).start()
            args.hdfs = cluster.namenode_url
        if args.hdfs:
            targets.append(("hdfs", args.hdfs.rstrip("/")))
        src = make_input(work, args.events)
        # Rounds: for each filesystem and batch size, raw, both pipelines and raw again, back to back; a
        # pipeline's ratio is against the faster raw of its own round (HDFS sync times drift a lot).
        results: dict[tuple[str, int, str], list[tuple[float, float, float]]] = {}
        try:
            for _ in range(args.rounds):
                for where, base in targets:
                    for batch in (100, 1000):
                        raw1 = run_raw(f"{base}/bench-{uuid.uuid4().hex[:8]}", args.events, batch)
                        sink_t = {ft: run_sink(f"{base}/bench-{uuid.uuid4().hex[:8]}", src, args.events, ft, batch)
                                  for ft in ("DataStream", "SequenceFile")}
                        raw2 = run_raw(f"{base}/bench-{uuid.uuid4().hex[:8]}", args.events, batch)
                        raw_s = min(raw1.total, raw2.total)
                        raw_eps = max(raw1.steady_events / raw1.steady, raw2.steady_events / raw2.steady)
                        results.setdefault((where, batch, "raw"), []).append((args.events / raw_s, 1.0, 1.0))
                        for ft, t in sink_t.items():
                            eps = t.steady_events / t.steady
                            results.setdefault((where, batch, ft), []).append(
                                (args.events / t.total, raw_s / t.total, eps / raw_eps))
        finally:
            if cluster is not None:
                cluster.stop()
    print(f"{args.events} events of {len(LINE)} bytes, {args.rounds} round(s); medians over rounds, ratios against "
          "the raw run of the same round (min-max)")
    print(f"{'fs':<6} {'pipeline':<36} {'batch':>5} {'events/s':>10} {'MB/s':>8} {'vs raw':>7} "
          f"{'steady vs raw':>14} {'range':>10}")
    for (where, batch, what), vals in results.items():
        eps = statistics.median(v[0] for v in vals)
        ratio = statistics.median(v[1] for v in vals)
        steady = [v[2] for v in vals]
        name = "raw (write+sync per batch)" if what == "raw" else f"exec->memory->hdfs {what}"
        print(f"{where:<6} {name:<36} {batch:>5} {eps:>10,.0f} {eps * len(LINE) / 1e6:>8.1f} {ratio:>6.0%} "
              f"{statistics.median(steady):>13.0%} {min(steady):>4.0%}-{max(steady):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
