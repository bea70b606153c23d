#!/usr/bin/env python3
"""Log-collection sources beside syslog-ng, in the same run; prints a table.

    python benchmarks/sources.py                       # all rows, default sizes
    python benchmarks/sources.py --lines 1000000 --repeat 5 --only taildir

Rows (each run in its own child process, the table shows the median of ``--repeat`` runs):

* ``file->file``: flumepy TAILDIR -> memory -> file_roll (batch 1000) on a file of N 100-byte lines,
  beside syslog-ng (``file()`` source with ``flags(no-parse)`` -> ``file()`` destination writing
  ``$MSG``).  Clock: from start until the sink has written all N lines (flumepy: sink counter;
  syslog-ng: output file size).
* ``tcp->file``: N RFC 3164 lines (~100 bytes, consecutive lines share a timestamp second) sent by a
  client process over 4 TCP connections as fast as the server takes them; flumepy syslogtcp ->
  memory -> file_roll beside syslog-ng ``network(transport(tcp))`` -> ``file()`` writing
  ``$MSGHDR$MSG`` (what Flume's body is).  Clock: from the client's "go" until all lines are out.
* ``avro tier``: agent A (seq -> memory -> avro sink, batch 1000) in a child process -> agent B in
  this process (avro source -> memory -> null, batch 1000).  Clock: from B's first event to its last
  (A's start-up excluded).  No syslog-ng counterpart.

syslog-ng comes from Debian (``apt-get install syslog-ng-core``); it runs in the foreground with its
own persist/pid/control files in a temp dir.  Never used by tests as an assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

from lines import LINE, write_lines

ROWS = ("taildir", "syslogtcp", "avro")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
TARGETS = {"taildir": 1.5, "syslogtcp": 1.0}
AVRO_TARGET = 300_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def syslog_lines(n: int) -> tuple[list[bytes], int]:
    """N RFC 3164 lines split over CONNECTIONS payloads, and the byte count of the bodies Flume writes."""
    parts: list[list[bytes]] = [[] for _ in range(CONNECTIONS)]
    out_bytes = 0
    base = time.time()
    for i in range(n):
        t = time.localtime(base + i // 5000)  # a new second every 5000 lines
        stamp = time.strftime("%b %d %H:%M:%S", t).replace(" 0", "  ", 1)
        body = f"app[{1000 + i % 9000}]: request {i:09d} served in 12ms status=200 path=/api/v1/items"
        line = f"<{(i % 24) * 8 + 6}>{stamp} host{i % 7} {body}\n".encode()
        parts[i % CONNECTIONS].append(line)
        out_bytes += len(body) + 1
    return [b"".join(p) for p in parts], out_bytes


CLIENT = r"""
import socket, sys, threading
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
payloads = open(path, "rb").read().split(b"\0SPLIT\0")
socks = [socket.create_connection((host, port)) for _ in payloads]
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
ts = [threading.Thread(target=s.sendall, args=(p,)) for s, p in zip(socks, payloads)]
for t in ts: t.start()
for t in ts: t.join()
for s in socks: s.close()
"""


class Client:
    """The TCP driver: a child process with the payloads loaded and connections open, sending on go()."""

    def __init__(self, work: str, port: int, payloads: list[bytes]) -> None:
        path = os.path.join(work, "payload.bin")
        with open(path, "wb") as f:
            f.write(b"\0SPLIT\0".join(payloads))
        self.proc = subprocess.Popen([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self) -> None:
        self.proc.wait(120)


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {port}")


def _wait_size(path: str, size: int, proc: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.path.getsize(path) >= size:
                return
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"syslog-ng exited with {proc.returncode}")
        time.sleep(0.005)
    raise RuntimeError(f"{path} did not reach {size} bytes")


# ------------------------------------------------------------------------------------------------- flumepy


def agent_tune_runtime() -> None:
    from flumepy.agent import tune_runtime

    tune_runtime()


def _agent(text: str):  # type: ignore[no-untyped-def]
    from flumepy.agent import Agent
    from flumepy.config.model import build_agent_spec
    from flumepy.config.properties import parse_properties
    from flumepy.registry import Registry

    spec = build_agent_spec(parse_properties(text, "bench.conf"), "a")
    agent = Agent(Registry.from_entry_points(), drain_timeout=60)
    topo, _ = agent.build(spec)
    return agent, topo


MEMORY_FILE_ROLL = """
a.channels = c
a.sinks = k
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.type = file_roll
a.sinks.k.sink.directory = {out}
a.sinks.k.sink.rollInterval = 0
a.sinks.k.sink.batchSize = 1000
a.sinks.k.channel = c
"""


def _wait_count(sink, n: int) -> None:  # type: ignore[no-untyped-def]
    while sink.counters.get("EventDrainSuccessCount") < n:
        time.sleep(0.005)


def flume_taildir(work: str, n: int) -> float:
    logs = os.path.join(work, "logs")
    out = os.path.join(work, "out")
    os.makedirs(logs)
    os.makedirs(out)
    write_lines(os.path.join(logs, "app.log"), n)
    agent, topo = _agent(f"""
a.sources = r
a.sources.r.type = TAILDIR
a.sources.r.filegroups = f1
a.sources.r.filegroups.f1 = {logs}/app\\.log
a.sources.r.positionFile = {work}/pos.json
a.sources.r.batchSize = 1000
a.sources.r.channels = c
""" + MEMORY_FILE_ROLL.format(out=out))
    t0 = time.perf_counter()
    agent.start(topo)
    agent_tune_runtime()  # as `flumepy agent` does
    _wait_count(topo.sinks["k"], n)
    secs = time.perf_counter() - t0
    agent.stop()
    return secs


def flume_syslogtcp(work: str, n: int) -> float:
    out = os.path.join(work, "out")
    os.makedirs(out)
    port = _free_port()
    payloads, _ = syslog_lines(n)
    agent, topo = _agent(f"""
a.sources = r
a.sources.r.type = syslogtcp
a.sources.r.host = 127.0.0.1
a.sources.r.port = {port}
a.sources.r.channels = c
""" + MEMORY_FILE_ROLL.format(out=out))
    agent.start(topo)
    agent_tune_runtime()  # as `flumepy agent` does
    client = Client(work, port, payloads)
    t0 = time.perf_counter()
    client.go()
    _wait_count(topo.sinks["k"], n)
    secs = time.perf_counter() - t0
    client.wait()
    agent.stop()
    return secs


AVRO_SENDER = """
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = seq
a.sources.r.batchSize = 1000
a.sources.r.totalEvents = {n}
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.type = avro
a.sinks.k.hostname = 127.0.0.1
a.sinks.k.port = {port}
a.sinks.k.batch-size = 1000
a.sinks.k.channel = c
"""


def flume_avro(work: str, n: int) -> float:
    port = _free_port()
    agent, topo = _agent(f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = avro
a.sources.r.bind = 127.0.0.1
a.sources.r.port = {port}
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.type = null
a.sinks.k.batchSize = 1000
a.sinks.k.channel = c
""")
    agent.start(topo)
    agent_tune_runtime()  # as `flumepy agent` does
    conf = os.path.join(work, "sender.conf")
    with open(conf, "w") as f:
        f.write(AVRO_SENDER.format(n=n, port=port))
    sender = subprocess.Popen([sys.executable, "-m", "flumepy", "agent", "-n", "a", "-f", conf],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sink = topo.sinks["k"]
    src = topo.sources["r"]
    try:
        while src.counters.get("EventAcceptedCount") == 0:
            if sender.poll() is not None:
                raise RuntimeError("avro sender agent exited")
            time.sleep(0.001)
        first = src.counters.get("EventAcceptedCount")
        t0 = time.perf_counter()
        _wait_count(sink, n)
        secs = time.perf_counter() - t0
    finally:
        sender.terminate()
        sender.wait(30)
        agent.stop()
    return secs * n / (n - first)  # scaled to all n events


# ----------------------------------------------------------------------------------------------- syslog-ng


def _syslog_ng(work: str, body: str) -> subprocess.Popen[bytes]:
    conf = os.path.join(work, "syslog-ng.conf")
    with open(conf, "w") as f:
        f.write("@version: 3.38\n" + textwrap.dedent(body))
    return subprocess.Popen(
        ["syslog-ng", "-F", "-f", conf, "--no-caps",
         f"--persist-file={work}/syslog-ng.persist", f"--pidfile={work}/syslog-ng.pid",
         f"--control={work}/syslog-ng.ctl"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


OPTIONS = """
options { stats-freq(0); flush-lines(1000); time-reopen(1); mark-freq(0); };
"""


def ng_file(work: str, n: int) -> float:
    src = os.path.join(work, "app.log")
    out = os.path.join(work, "out.log")
    write_lines(src, n)
    t0 = time.perf_counter()
    proc = _syslog_ng(work, OPTIONS + f"""
source s {{ file("{src}" flags(no-parse) follow-freq(1) log-fetch-limit(1000) log-iw-size(10000)); }};
destination d {{ file("{out}" template("${{MSG}}\\n")); }};
log {{ source(s); destination(d); flags(flow-control); }};
""")
    try:
        _wait_size(out, n * len(LINE), proc)
        return time.perf_counter() - t0
    finally:
        _stop(proc)


def ng_tcp(work: str, n: int) -> float:
    out = os.path.join(work, "out.log")
    port = _free_port()
    payloads, size = syslog_lines(n)
    proc = _syslog_ng(work, OPTIONS + f"""
source s {{ network(ip("127.0.0.1") port({port}) transport(tcp) max-connections(10)
                    log-fetch-limit(1000) log-iw-size(100000)); }};
destination d {{ file("{out}" template("${{MSGHDR}}${{MSG}}\\n")); }};
log {{ source(s); destination(d); flags(flow-control); }};
""")
    try:
        _wait_port(port)
        client = Client(work, port, payloads)
        t0 = time.perf_counter()
        client.go()
        _wait_size(out, size, proc)
        secs = time.perf_counter() - t0
        client.wait()
        return secs
    finally:
        _stop(proc)


RUNNERS = {
    ("taildir", "flumepy"): flume_taildir,
    ("taildir", "syslog-ng"): ng_file,
    ("syslogtcp", "flumepy"): flume_syslogtcp,
    ("syslogtcp", "syslog-ng"): ng_tcp,
    ("avro", "flumepy"): flume_avro,
}


def run_child(row: str, who: str, n: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--one", f"{row}:{who}", "--lines", str(n)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{row}/{who} failed:\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["lines_per_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side; the table shows the median")
    ap.add_argument("--only", choices=ROWS)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        row, who = args.one.split(":")
        with tempfile.TemporaryDirectory(prefix="flumepy-bench-") as work:
            secs = RUNNERS[(row, who)](work, args.lines)
        print(json.dumps({"lines_per_s": args.lines / secs}))
        return
    have_ng = shutil.which("syslog-ng") is not None
    if not have_ng:
        print("syslog-ng not found: apt-get install -y syslog-ng-core", file=sys.stderr)
    rows = [args.only] if args.only else list(ROWS)
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):  # alternate the two sides so machine noise hits both alike
        for row in rows:
            for who in ("flumepy", "syslog-ng"):
                if (row, who) in RUNNERS and (who == "flumepy" or have_ng):
                    results.setdefault((row, who), []).append(run_child(row, who, args.lines))

    def med(k: tuple[str, str]) -> float | None:
        v = sorted(results.get(k, []))
        return v[len(v) // 2] if v else None

    print(f"{'row':<28} {'lines':>10} {'flumepy/s':>11} {'syslog-ng/s':>12} {'ratio':>6} {'target':>8}")
    names = {"taildir": "TAILDIR->memory->file_roll", "syslogtcp": "syslogtcp->memory->file_roll",
             "avro": "avro sink->avro source"}
    for row in rows:
        f, g = med((row, "flumepy")), med((row, "syslog-ng"))
        ratio = f"{f / g:.2f}x" if f and g else "-"
        target = f">={TARGETS[row]}x" if row in TARGETS else f">={AVRO_TARGET // 1000}k/s"
        print(f"{names[row]:<28} {args.lines:>10,} {f or 0:>11,.0f} {g or 0:>12,.0f} {ratio:>6} {target:>8}")
    print(f"medians of {args.repeat} runs each; flumepy and syslog-ng runs alternate")


if __name__ == "__main__":
    main()
