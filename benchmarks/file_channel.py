#!/usr/bin/env python3
"""Throughput of the durable file channel (put+take, every commit fdatasync'd); prints a table.

    python benchmarks/file_channel.py [--dir DIR] [--seconds 3] [--threads 1x1,2x2] [--repeat 3]

For each row (threads PxC, batch 100 / 1000, 100-byte / 1 KB bodies) P producer threads put
batches and C consumer threads take batches concurrently, each batch its own durable transaction,
for about ``--seconds``;
events/s counts events both put and taken (an event is counted once).  The same run measures the
machine: ``fsync/s`` (4 KB write + fdatasync in a loop) and sequential write bandwidth (1 MB writes,
one fsync at the end), so the table shows MB/s as a ratio of the disk's bandwidth.  Never used by
tests as an assertion.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flumepy.channels.file import FileChannel  # noqa: E402
from flumepy.core.context import Context  # noqa: E402
from flumepy.core.event import Event  # noqa: E402


def fsync_rate(workdir: str, seconds: float = 1.0) -> float:
    path = os.path.join(workdir, "fsync.probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    block = b"x" * 4096
    n = 0
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            os.write(fd, block)
            os.fdatasync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return n / (time.perf_counter() - t0)


def write_bandwidth(workdir: str, total: int = 512 << 20) -> float:
    path = os.path.join(workdir, "bw.probe")
    block = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.perf_counter()
    try:
        for _ in range(total // len(block)):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    dt = time.perf_counter() - t0
    os.unlink(path)
    return total / dt / 1e6


def run(workdir: str, batch: int, size: int, seconds: float, producers: int, consumers: int) -> tuple[float, float]:
    d = tempfile.mkdtemp(dir=workdir)
    ch = FileChannel("bench")
    ch.configure(Context({"checkpointDir": os.path.join(d, "checkpoint"), "dataDirs": os.path.join(d, "data"),
                          "capacity": "1000000", "transactionCapacity": str(batch), "minimumRequiredSpace": "0",
                          "checkpointInterval": "30000"}))
    ch.start()
    events = [Event(b"x" * size) for _ in range(batch)]
    stop = threading.Event()
    taken = [0] * consumers

    def produce() -> None:
        while not stop.is_set():
            try:
                with ch.transaction() as tx:
                    tx.put_batch(events)
            except Exception:  # noqa: BLE001 - full channel: consumers are behind
                time.sleep(0.001)

    def consume(i: int) -> None:
        while not stop.is_set():
            with ch.transaction() as tx:
                taken[i] += len(tx.take_batch(batch))

    threads = [threading.Thread(target=produce) for _ in range(producers)]
    threads += [threading.Thread(target=consume, args=(i,)) for i in range(consumers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    ch.stop()
    shutil.rmtree(d, ignore_errors=True)
    n = sum(taken)
    return n / dt, n * size / dt / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=None, help="where to put the channel (default: a temp directory)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", default="1x1,2x2",
                    help="comma-separated PRODUCERSxCONSUMERS thread counts, one set of rows each")
    ap.add_argument("--batches", default="100,1000", help="comma-separated batch sizes")
    ap.add_argument("--sizes", default="100,1024", help="comma-separated body sizes in bytes")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the median is printed")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = tempfile.mkdtemp(prefix="flumepy-bench-", dir=args.dir)
    try:
        fs = fsync_rate(workdir)
        bw = write_bandwidth(workdir)
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs; "
              f"median of {args.repeat} x {args.seconds:g}s per row")
        print(f"machine: {fs:,.0f} fdatasync/s (4 KB), sequential write {bw:,.0f} MB/s  [{workdir}]")
        print(f"{'threads':>7} {'batch':>6} {'body':>6} {'events/s':>12} {'MB/s':>8} {'% of disk MB/s':>15} "
              f"{'commits/s':>10} {'commits/fsync-rate':>19}")
        for threads in args.threads.split(","):
            producers, consumers = map(int, threads.split("x"))
            for batch in map(int, args.batches.split(",")):
                for size in map(int, args.sizes.split(",")):
                    runs = sorted(run(workdir, batch, size, args.seconds, producers, consumers)
                                  for _ in range(args.repeat))
                    eps, mbs = runs[len(runs) // 2]
                    commits = 2 * eps / batch  # one put and one take commit per batch
                    print(f"{threads:>7} {batch:>6} {size:>6} {eps:>12,.0f} {mbs:>8,.1f} {100 * mbs / bw:>14.0f}% "
                          f"{commits:>10,.0f} {commits / fs:>19.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
