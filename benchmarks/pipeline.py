#!/usr/bin/env python3
"""Throughput of whole pipelines, run in-process by the real Agent; prints a table.

    python benchmarks/pipeline.py                 # all pipelines, default sizes
    python benchmarks/pipeline.py --events 2000000 --only seq-null

Each pipeline runs in its own child process so peak RSS is per pipeline. Columns: events/s, MB/s
(body bytes), CPU seconds (user+sys) per million events, peak RSS. Never used by tests as an assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from lines import write_lines

PIPELINES = {
    "seq-null": "seq (batch 1000) -> memory -> null (batch 1000)",
    "cat-file_roll": "exec cat FILE (100-byte lines) -> memory -> file_roll (batch 1000)",
    "taildir-file_roll": "TAILDIR on FILE (100-byte lines) -> memory -> file_roll (batch 1000)",
}


def _config(name: str, events: int, workdir: str) -> str:
    if name == "seq-null":
        return f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = seq
a.sources.r.batchSize = 1000
a.sources.r.totalEvents = {events}
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.type = null
a.sinks.k.batchSize = 1000
a.sinks.k.channel = c
"""
    if name == "cat-file_roll":
        src = os.path.join(workdir, "input.txt")
        write_lines(src, events)
        out = os.path.join(workdir, "out")
        os.makedirs(out, exist_ok=True)
        return f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = exec
a.sources.r.command = cat {src}
a.sources.r.batchSize = 1000
a.sources.r.batchTimeout = 100
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.type = file_roll
a.sinks.k.sink.directory = {out}
a.sinks.k.sink.rollInterval = 0
a.sinks.k.sink.batchSize = 1000
a.sinks.k.channel = c
"""
    if name == "taildir-file_roll":
        logs = os.path.join(workdir, "logs")
        os.makedirs(logs, exist_ok=True)
        write_lines(os.path.join(logs, "app.log"), events)
        out = os.path.join(workdir, "out")
        os.makedirs(out, exist_ok=True)
        return f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = TAILDIR
a.sources.r.filegroups = f1
a.sources.r.filegroups.f1 = {logs}/app\\.log
a.sources.r.positionFile = {workdir}/pos.json
a.sources.r.batchSize = 1000
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.type = file_roll
a.sinks.k.sink.directory = {out}
a.sinks.k.sink.rollInterval = 0
a.sinks.k.sink.batchSize = 1000
a.sinks.k.channel = c
"""
    raise SystemExit(f"unknown pipeline {name}")


def run_one(name: str, events: int) -> dict[str, float]:
    from flumepy.agent import Agent, tune_runtime
    from flumepy.config.model import build_agent_spec
    from flumepy.config.properties import parse_properties
    from flumepy.registry import Registry

    with tempfile.TemporaryDirectory(prefix="flumepy-bench-") as work:
        text = _config(name, events, work)
        spec = build_agent_spec(parse_properties(text, "bench.conf"), "a")
        agent = Agent(Registry.from_entry_points(), drain_timeout=60)
        topo, _ = agent.build(spec)
        sink = topo.sinks["k"]
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        agent.start(topo)
        tune_runtime()  # as `flumepy agent` does
        while sink.counters.get("EventDrainSuccessCount") < events:
            time.sleep(0.02)
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        agent.stop()
        body = 100 if name in ("cat-file_roll", "taildir-file_roll") else 6  # seq bodies are up to 7 digits
    secs = t1 - t0
    return {
        "events": events,
        "seconds": secs,
        "events_per_s": events / secs,
        "mb_per_s": events * body / secs / 1e6,
        "cpu_s_per_m": (cpu1 - cpu0) / events * 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--only", choices=sorted(PIPELINES))
    ap.add_argument("--repeat", type=int, default=3, help="runs per pipeline; the table shows the median")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.events)))
        return
    rows = []
    for name in [args.only] if args.only else PIPELINES:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--one", name, "--events", str(args.events)],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{name}: failed\n{out.stderr}", file=sys.stderr)
                break
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if runs:
            runs.sort(key=lambda r: r["events_per_s"])
            rows.append((name, runs[len(runs) // 2], runs[0]["events_per_s"], runs[-1]["events_per_s"]))
    print(f"{'pipeline':<16} {'events':>10} {'events/s':>12} {'(min-max)':>21} {'MB/s':>7} {'CPU s/M':>8} "
          f"{'RSS MB':>7}")
    for name, r, lo, hi in rows:
        rng = f"{lo / 1e3:,.0f}k-{hi / 1e3:,.0f}k"
        print(f"{name:<16} {r['events']:>10,} {r['events_per_s']:>12,.0f} {rng:>21} {r['mb_per_s']:>7.1f} "
              f"{r['cpu_s_per_m']:>8.2f} {r['peak_rss_mb']:>7.0f}")
    for name, *_ in rows:
        print(f"  {name}: {PIPELINES[name]}")


if __name__ == "__main__":
    main()
