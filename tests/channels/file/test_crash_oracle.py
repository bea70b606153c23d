"""The crash oracle: kill -9 an agent (netcat -> file channel -> file_roll) at random moments.

A client sends numbered lines and records each line the source acknowledged (``OK`` comes only
after the channel commit).  After every kill the agent restarts on the same directories; at the end
it drains.  Every acknowledged line must have been delivered, no delivered line may be corrupt, and
duplicates (taken by the sink but not committed when the process died) are bounded by one sink
batch per kill.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from pathlib import Path

from tests.util import AgentProcess, free_port, wait_until, write_conf

SINK_BATCH = 20
LINE = re.compile(rb"^ev-(\d+)-(\d+)-x+$")


def config(tmp: Path, port: int) -> Path:
    return write_conf(tmp, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = netcat
        a1.sources.r1.bind = 127.0.0.1
        a1.sources.r1.port = {port}
        a1.sources.r1.channels = c1
        a1.channels.c1.type = file
        a1.channels.c1.checkpointDir = {tmp / 'checkpoint'}
        a1.channels.c1.useDualCheckpoints = true
        a1.channels.c1.backupCheckpointDir = {tmp / 'backup'}
        a1.channels.c1.dataDirs = {tmp / 'data1'},{tmp / 'data2'}
        a1.channels.c1.checkpointInterval = 300
        a1.channels.c1.maxFileSize = 20000
        a1.channels.c1.minimumRequiredSpace = 1
        a1.channels.c1.capacity = 100000
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {tmp / 'out'}
        a1.sinks.k1.sink.rollInterval = 0
        a1.sinks.k1.sink.batchSize = {SINK_BATCH}
    """)


class Client(threading.Thread):
    """Sends lines in small bursts; a line counts as acknowledged once its OK arrived."""

    def __init__(self, port: int, round_no: int, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.round_no = round_no
        self.rng = rng.random()  # per-round seed for line padding
        self.acked: list[bytes] = []
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError:
            return
        rng = random.Random(self.rng)
        sent: list[bytes] = []
        buf = b""
        i = 0
        try:
            sock.settimeout(5)
            while not self.stop.is_set():
                burst = []
                for _ in range(rng.randint(1, 30)):
                    line = b"ev-%d-%d-" % (self.round_no, i) + b"x" * rng.randint(1, 60)
                    burst.append(line)
                    i += 1
                sock.sendall(b"".join(x + b"\n" for x in burst))
                sent.extend(burst)
                while len(self.acked) < len(sent):
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                    while b"\n" in buf:
                        reply, buf = buf.split(b"\n", 1)
                        assert reply == b"OK", reply
                        self.acked.append(sent[len(self.acked)])
        except OSError:
            return
        finally:
            sock.close()


def delivered(out: Path) -> list[bytes]:
    if not out.is_dir():
        return []
    return [line for f in sorted(out.iterdir()) for line in f.read_bytes().splitlines()]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def run_oracle(tmp: Path, seed: int, kills: int) -> None:
    rng = random.Random(seed)
    port = free_port()
    conf = config(tmp, port)
    acked: list[bytes] = []
    for round_no in range(kills):
        agent = AgentProcess(conf, "a1").start()
        try:
            agent.wait_started(60)
            wait_until(lambda: port_open(port), 30, what="netcat port")
            client = Client(port, round_no, rng)
            client.start()
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            agent.kill()  # SIGKILL: no shutdown, no checkpoint on close
        client.stop.set()
        client.join(10)
        acked.extend(client.acked)
    assert len(acked) > kills * 10, f"too few acknowledged lines ({len(acked)}) for a meaningful test"
    # Restart and drain.
    agent = AgentProcess(conf, "a1").start()
    try:
        agent.wait_started(60)
        want = set(acked)
        wait_until(lambda: want <= set(delivered(tmp / "out")), 60, interval=0.2,
                   what="every acknowledged line in the sink's files")
    finally:
        rc = agent.terminate()
    assert rc == 0, agent.output
    lines = delivered(tmp / "out")
    corrupt = [x for x in lines if not LINE.match(x)]
    assert not corrupt, corrupt[:5]
    assert want <= set(lines)
    dups = len(lines) - len(set(lines))
    assert dups <= kills * SINK_BATCH, f"{dups} duplicates after {kills} kills"
    assert "torn or corrupt" not in agent.output or "replay of this file stops there" in agent.output


def test_kill_9_at_random_moments_loses_no_acknowledged_event(tmp_path: Path) -> None:
    run_oracle(tmp_path, seed=20240601, kills=11)


def test_kill_9_oracle_second_seed(tmp_path: Path) -> None:
    run_oracle(tmp_path, seed=7, kills=11)
