"""Helpers for the HDFS sink tests: a fake clock, a sink on a channel, a filesystem that fails on cue."""

from __future__ import annotations

import gzip
import io
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context
from flumepy.core.event import Event
from flumepy.fs.base import FileSystem, OutputStream
from flumepy.fs.local import LocalFileSystem
from flumepy.sinks.hdfs import HDFSEventSink
from tests.sinks.hdfs.seqread import parse

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Rig:
    sink: HDFSEventSink
    channel: MemoryChannel
    clock: FakeClock
    out: Path

    def put(self, bodies: Iterable[bytes | str], headers: dict[str, str] | None = None,
            stamp: bool = True) -> list[bytes]:
        events = []
        for b in bodies:
            body = b.encode() if isinstance(b, str) else b
            h = dict(headers or {})
            if stamp:
                h.setdefault("timestamp", str(int(self.clock() * 1000)))
            events.append(Event(body, h))
        with self.channel.transaction() as tx:
            tx.put_batch(events)
        return [e.body for e in events]

    def put_events(self, events: list[Event]) -> None:
        with self.channel.transaction() as tx:
            tx.put_batch(events)

    def drain(self) -> None:
        for _ in range(1000):
            if self.sink.process().name == "BACKOFF":
                return
        raise AssertionError("sink never backed off")

    def files(self) -> dict[str, bytes]:
        """Relative path -> bytes of every file under the output directory."""
        out = {}
        for root, _, names in os.walk(self.out):
            for n in names:
                p = Path(root) / n
                out[str(p.relative_to(self.out))] = p.read_bytes()
        return dict(sorted(out.items()))


def make_rig(tmp_path: Path, keys: dict[str, str], fs: FileSystem | None = None, capacity: int = 10000) -> Rig:
    out = tmp_path / "out"
    clock = FakeClock()
    ch = MemoryChannel("c1")
    ch.TAKE_LINGER = 0.0  # type: ignore[misc]  # the tests drive process() by hand: no need to wait
    ch.configure(Context({"capacity": str(capacity), "transactionCapacity": "1000", "keep-alive": "0"}))
    sink = HDFSEventSink("k1")
    values = {"hdfs.path": str(out)}
    values.update({k: v.replace("{out}", str(out)) for k, v in keys.items()})
    sink.configure(Context(values, prefix="a1.sinks.k1."))
    sink.clock = clock  # type: ignore[method-assign]
    sink.sleep = lambda s: None  # type: ignore[method-assign]
    if fs is not None:
        sink.filesystem = fs
    sink.channel = ch
    ch.start()
    sink.start()
    return Rig(sink, ch, clock, out)


def seq_bodies(data: bytes) -> list[bytes]:
    return [v for _, v in parse(data).records]


def lines(data: bytes) -> list[bytes]:
    return data.splitlines()


def gunzip(data: bytes) -> bytes:
    return gzip.GzipFile(fileobj=io.BytesIO(data)).read()


# -- failure injection ------------------------------------------------------------------------------
@dataclass
class Faults:
    """Operation name -> how many more times it fails (create, write, sync, close, rename)."""

    left: dict[str, int] = field(default_factory=dict)
    hang: threading.Event | None = None  # when set as an object, 'sync' blocks until it is set
    seen: list[str] = field(default_factory=list)

    def check(self, op: str, path: str) -> None:
        self.seen.append(op)
        if self.left.get(op, 0) > 0:
            self.left[op] -= 1
            raise OSError(f"injected {op} failure on {path}")
        if op == "sync" and self.hang is not None:
            self.hang.wait(30)


class _FlakyOut(OutputStream):
    def __init__(self, inner: OutputStream, faults: Faults, path: str) -> None:
        self.inner, self.faults, self.path = inner, faults, path

    def write(self, data: bytes) -> int:
        self.faults.check("write", self.path)
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()

    def sync(self) -> None:
        self.faults.check("sync", self.path)
        self.inner.sync()

    def tell(self) -> int:
        return self.inner.tell()

    def close(self) -> None:
        self.faults.check("close", self.path)
        self.inner.close()


class FlakyFileSystem(LocalFileSystem):
    """The local filesystem, failing the operations ``faults`` names (each a given number of times).
    Its calls can hang (``Faults.hang``), so the sink runs them in its I/O pool as it does for HDFS."""

    calls_can_hang = True

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def create(self, path: str, overwrite: bool = False) -> OutputStream:
        self.faults.check("create", path)
        return _FlakyOut(super().create(path, overwrite), self.faults, path)

    def rename(self, src: str, dst: str) -> None:
        self.faults.check("rename", src)
        super().rename(src, dst)


class LocalFlakyFileSystem(FlakyFileSystem):
    """FlakyFileSystem whose calls cannot hang: the sink calls it on its own thread, as for local files."""

    calls_can_hang = False
