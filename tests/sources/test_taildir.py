"""TAILDIR source: real files appended, rotated and truncated; positions kept in Flume's JSON format."""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.sources.taildir import TaildirSource
from tests.sources.conftest import Wired
from tests.util import AgentProcess, wait_until, write_conf


def settings(tmp_path: Path, **extra: str) -> dict[str, str]:
    s = {
        "filegroups": "f1",
        "filegroups.f1": str(tmp_path / "logs" / r"app.*\.log"),
        "positionFile": str(tmp_path / "pos" / "taildir_position.json"),
        "backoffSleepIncrement": "20",
        "maxBackoffSleep": "100",
        "writePosInterval": "100",
    }
    s.update(extra)
    return s


def run(wire: Callable[..., Wired], s: dict[str, str], **kw: object) -> Wired:
    w = wire(TaildirSource, s, **kw)
    w.source.start()
    return w


class Collector:
    def __init__(self, w: Wired) -> None:
        self.w = w
        self.events: list[Event] = []

    def wait(self, n: int, what: str = "") -> list[Event]:
        wait_until(lambda: self.events.extend(self.w.take()) or len(self.events) >= n, timeout=15,
                   what=what or f"{n} events (have {len(self.events)})")
        return self.events

    def bodies(self) -> list[bytes]:
        return [e.body for e in self.events]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


def test_appended_lines_become_events_and_partial_lines_wait(wire: Callable[..., Wired], tmp_path: Path,
                                                           logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"one\ntwo\r\n")
    w = run(wire, settings(tmp_path))
    c = Collector(w)
    c.wait(2)
    append(f, b"three\nfour without newline")
    c.wait(3)
    # The unfinished line stays in the file until its newline arrives.
    wait_until(lambda: w.source.tails and next(iter(w.source.tails.values())).pos == 15, what="position 15")
    assert c.bodies() == [b"one", b"two", b"three"]
    append(f, b" yet\n")
    c.wait(4)
    assert c.bodies() == [b"one", b"two", b"three", b"four without newline yet"]
    assert all(e.headers == {} for e in c.events)
    v = w.source.counters.values
    assert v["EventAcceptedCount"] == 4 and v["EventReceivedCount"] == 4


def test_many_lines_in_full_batches_keep_order(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    n = 10_000
    (logs / "app.log").write_bytes(b"".join(b"line %d\n" % i for i in range(n)))
    w = run(wire, settings(tmp_path, batchSize="50"), transaction_capacity=50, capacity=20_000)
    assert w.source.batch_size == 50
    c = Collector(w)
    c.wait(n)
    assert c.bodies() == [b"line %d" % i for i in range(n)]
    assert w.source.counters.values["AppendBatchAcceptedCount"] == n // 50


def test_non_matching_and_new_files(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    (logs / "app-1.log").write_bytes(b"a1\n")
    (logs / "other.txt").write_bytes(b"ignored\n")
    w = run(wire, settings(tmp_path))
    c = Collector(w)
    c.wait(1)
    (logs / "app-2.log").write_bytes(b"b1\nb2\n")
    (logs / "app-3.log.gz").write_bytes(b"not matched: full match of the name\n")
    c.wait(3)
    assert sorted(c.bodies()) == [b"a1", b"b1", b"b2"]


def test_rename_rotation_loses_and_repeats_nothing(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    s = settings(tmp_path, idleTimeout="300")
    s["filegroups.f1"] = str(logs / r"app\.log")
    f.write_bytes(b"old 1\nold 2\n")
    w = run(wire, s)
    c = Collector(w)
    c.wait(2)
    writer = open(f, "ab")  # a logger holding the file open across the rename
    writer.write(b"old 3\n")
    writer.flush()
    os.rename(f, logs / "app.log.1")
    writer.write(b"old 4 after rename\nold 5 unfinished")
    writer.flush()
    f.write_bytes(b"new 1\n")
    c.wait(5)
    append(f, b"new 2\n")
    c.wait(7)  # includes the renamed file's unfinished last line, delivered once that file went idle
    writer.close()
    b = c.bodies()
    assert sorted(b) == sorted([b"old 1", b"old 2", b"old 3", b"old 4 after rename", b"old 5 unfinished",
                                b"new 1", b"new 2"])
    assert b.index(b"old 4 after rename") < b.index(b"old 5 unfinished")
    # The renamed file is forgotten once read to its end; only the new app.log stays in the positions.
    wait_until(lambda: [p["file"] for p in w.source.positions()] == [str(f)], what="only app.log tracked")


def test_rename_to_a_matching_name_keeps_the_position(wire: Callable[..., Wired], tmp_path: Path,
                                                      logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"x1\nx2\n")
    w = run(wire, settings(tmp_path))  # app.*\.log matches app.log and app-old.log
    c = Collector(w)
    c.wait(2)
    os.rename(f, logs / "app-old.log")
    append(logs / "app-old.log", b"x3\n")
    c.wait(3)
    assert c.bodies() == [b"x1", b"x2", b"x3"]
    wait_until(lambda: [p["file"] for p in w.source.positions()] == [str(logs / "app-old.log")])


def test_copytruncate_rotation_starts_again_at_zero(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"first line of a long file\nsecond line of a long file\n")
    w = run(wire, settings(tmp_path))
    c = Collector(w)
    c.wait(2)
    shutil.copy(f, logs / "app.log.1")  # not matched by app.*\.log
    with open(f, "r+b") as fh:
        fh.truncate(0)
    wait_until(lambda: next(iter(w.source.tails.values())).pos == 0, what="position back to 0")
    append(f, b"after truncate\n")
    c.wait(3)
    assert c.bodies() == [b"first line of a long file", b"second line of a long file", b"after truncate"]


def test_restart_resumes_from_the_position_file(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"a\nb\n")
    s = settings(tmp_path)
    w = run(wire, s)
    c = Collector(w)
    c.wait(2)
    w.source.stop()
    pos = json.loads(Path(s["positionFile"]).read_text())
    assert pos == [{"inode": os.stat(f).st_ino, "pos": 4, "file": str(f)}]
    assert Path(s["positionFile"]).read_text().startswith('[{"inode":')  # Gson's compact layout
    append(f, b"c\nd\n")
    w2 = run(wire, s)
    c2 = Collector(w2)
    c2.wait(2)
    assert c2.bodies() == [b"c", b"d"]


def test_a_flume_written_position_file_is_honoured(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"already sent\nalso sent\nnew one\n")
    s = settings(tmp_path)
    Path(s["positionFile"]).parent.mkdir()
    # As Flume's Gson writes it, with an entry for a file that no longer exists.
    Path(s["positionFile"]).write_text(
        f'[{{"inode":{os.stat(f).st_ino},"pos":23,"file":"{f}"}},{{"inode":999999999,"pos":5,"file":"/gone/x.log"}}]')
    w = run(wire, s)
    c = Collector(w)
    c.wait(1)
    assert c.bodies() == [b"new one"]
    wait_until(lambda: json.loads(Path(s["positionFile"]).read_text())
               == [{"inode": os.stat(f).st_ino, "pos": 31, "file": str(f)}], what="position file rewritten")


def test_renamed_while_down_is_found_by_inode(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    s = settings(tmp_path)
    s["filegroups.f1"] = str(logs / r"app\.log")
    f.write_bytes(b"l1\n")
    w = run(wire, s)
    c = Collector(w)
    c.wait(1)
    w.source.stop()
    append(f, b"l2 written while down\n")
    os.rename(f, logs / "app.log.1")
    f.write_bytes(b"l3 in the new file\n")
    w2 = run(wire, s)
    c2 = Collector(w2)
    c2.wait(2)
    assert c2.bodies() == [b"l2 written while down", b"l3 in the new file"]


def test_uncommitted_lines_are_not_marked_read(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"".join(b"%02d\n" % i for i in range(25)))
    s = settings(tmp_path, batchSize="10")
    w = run(wire, s, capacity=10, transaction_capacity=10)  # room for one batch only
    wait_until(lambda: w.source.counters.values["ChannelWriteFail"] > 0, what="a full channel")
    w.source.stop()
    assert json.loads(Path(s["positionFile"]).read_text())[0]["pos"] == 30  # ten lines of 3 bytes
    assert [e.body for e in w.take()] == [b"%02d" % i for i in range(10)]
    w2 = run(wire, s, capacity=100, transaction_capacity=10)
    c = Collector(w2)
    c.wait(15)
    assert c.bodies() == [b"%02d" % i for i in range(10, 25)]


def test_groups_headers_file_header_and_byte_offsets(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (logs / "app.log").write_bytes(b"aa\nbbb\n")
    (other / "x.txt").write_bytes(b"x\n")
    s = settings(tmp_path, filegroups="f1 f2", byteOffsetHeader="true", fileHeader="true", fileHeaderKey="path")
    s["filegroups.f2"] = str(other / r".*\.txt")
    s["headers.f1.topic"] = "apps"
    s["headers.f1.dc"] = "east"
    s["headers.f2.topic"] = "other"
    w = run(wire, s)
    c = Collector(w)
    c.wait(3)
    by_body = {e.body: e.headers for e in c.events}
    assert by_body[b"aa"] == {"topic": "apps", "dc": "east", "path": str(logs / "app.log"), "byteoffset": "0"}
    assert by_body[b"bbb"] == {"topic": "apps", "dc": "east", "path": str(logs / "app.log"), "byteoffset": "3"}
    assert by_body[b"x"] == {"topic": "other", "path": str(other / "x.txt"), "byteoffset": "0"}


def test_skip_to_end_starts_new_files_at_their_end(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    f = logs / "app.log"
    f.write_bytes(b"history\n")
    w = run(wire, settings(tmp_path, skipToEnd="true"))
    c = Collector(w)
    wait_until(lambda: w.source.tails, what="app.log followed")
    append(f, b"fresh\n")
    (logs / "app2.log").write_bytes(b"created later, read from the start\n")
    c.wait(2)
    assert sorted(c.bodies()) == [b"created later, read from the start", b"fresh"]


def test_max_batch_count_interleaves_files(wire: Callable[..., Wired], tmp_path: Path, logs: Path) -> None:
    (logs / "app-a.log").write_bytes(b"".join(b"a%d\n" % i for i in range(30)))
    (logs / "app-b.log").write_bytes(b"".join(b"b%d\n" % i for i in range(30)))
    w = run(wire, settings(tmp_path, batchSize="10", maxBatchCount="1"), transaction_capacity=10)
    c = Collector(w)
    c.wait(60)
    firsts = [e.body[:1] for e in c.events[::10]]
    assert firsts == [b"a", b"b", b"a", b"b", b"a", b"b"]


@pytest.mark.parametrize(("extra", "key"), [
    ({"filegroups": "f1 f2"}, "filegroups.f2"),
    ({"filegroups.f1": "/tmp/x/(unclosed"}, "filegroups.f1"),
    ({"batchSize": "0"}, "batchSize"),
    ({"headers.f1": "x"}, "headers.f1"),
])
def test_config_errors_name_the_key(wire: Callable[..., Wired], tmp_path: Path, extra: dict[str, str],
                                    key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        wire(TaildirSource, settings(tmp_path, **extra))


def test_missing_filegroups_is_an_error(wire: Callable[..., Wired]) -> None:
    with pytest.raises(ConfigError, match="filegroups: is required"):
        wire(TaildirSource, {})


# -- end to end, through the CLI ----------------------------------------------------------------
def _conf(tmp_path: Path, logs: Path, out: Path) -> Path:
    return write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = TAILDIR
        a1.sources.r1.filegroups = f1
        a1.sources.r1.filegroups.f1 = {logs}/.*\\.log
        a1.sources.r1.positionFile = {tmp_path}/pos.json
        a1.sources.r1.maxBackoffSleep = 200
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        """)


def _written(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.iterdir()))


def test_agent_taildir_to_file_roll(tmp_path: Path, logs: Path, agent_process: type[AgentProcess]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    data = b"".join(b"row %d of the log\n" % i for i in range(20_000))
    (logs / "app.log").write_bytes(data[:100_000])
    agent = agent_process(_conf(tmp_path, logs, out), "a1", ["--no-reload-conf"]).start().wait_started()
    append(logs / "app.log", data[100_000:])
    wait_until(lambda: len(_written(out)) == len(data), timeout=30, what="all lines in the output")
    assert agent.terminate() == 0
    assert _written(out) == data


def test_agent_kill_9_then_restart_loses_no_line(tmp_path: Path, logs: Path,
                                                 agent_process: type[AgentProcess]) -> None:
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    out1.mkdir()
    out2.mkdir()
    f = logs / "app.log"
    first = [b"first %d" % i for i in range(3000)]
    f.write_bytes(b"".join(ln + b"\n" for ln in first))
    conf = _conf(tmp_path, logs, out1)
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    wait_until(lambda: _written(out1).count(b"\n") == len(first), timeout=30, what="first lines written")
    agent.terminate(sig=signal.SIGKILL)
    second = [b"second %d" % i for i in range(3000)]
    append(f, b"".join(ln + b"\n" for ln in second))
    conf.write_text(conf.read_text().replace(str(out1), str(out2)))
    agent2 = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    wait_until(lambda: b"second 2999\n" in _written(out2), timeout=30, what="second lines written")
    assert agent2.terminate() == 0
    got = (_written(out1) + _written(out2)).splitlines()
    assert set(got) == set(first) | set(second)  # nothing lost (a repeated batch would be allowed)
    assert got[-len(second):] == second
