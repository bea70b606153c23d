"""The file channel in-process: restart and replay, torn logs, checkpoints, dataDirs, safety rails."""

from __future__ import annotations

import logging
import os
import shutil
import struct
from pathlib import Path

import pytest

from flumepy.channels.file import FileChannel
from flumepy.channels.file.log import HEADER_SIZE, list_logs
from flumepy.core.context import Context
from flumepy.core.errors import ChannelError, ChannelFullError, ConfigError
from flumepy.core.event import Event
from flumepy.testing import make_events
from flumepy.testing.channel_contract import put_all, take_all


def make(tmp: Path, probe=None, **keys: str) -> FileChannel:
    ch = FileChannel("c1", free_space_probe=probe)
    values = {"checkpointDir": str(tmp / "checkpoint"), "dataDirs": str(tmp / "data"),
              "minimumRequiredSpace": "0", "keep-alive": "0", "capacity": "1000", "transactionCapacity": "100"}
    values.update(keys)
    ch.configure(Context(values))
    ch.TAKE_LINGER = 0.0  # an empty take returns at once (take_all ends with one)
    return ch


def started(tmp: Path, **keys: str) -> FileChannel:
    ch = make(tmp, **keys)
    ch.start()
    return ch


def crash(ch: FileChannel) -> None:
    """What kill -9 leaves behind: no checkpoint on close, files just closed, locks released."""
    ch._stop.set()
    if ch._ckpt_thread is not None:
        ch._ckpt_thread.join(10)
    ch._open = False
    ch._close_files()


def bodies(events: list[Event]) -> list[bytes]:
    return [e.body for e in events]


def test_committed_events_survive_restart_in_order_with_headers(tmp_path: Path) -> None:
    ch = started(tmp_path)
    events = [Event(b"plain"), Event(b"with headers", {"host": "h1", "k": "v=1"}), Event(b"", {"": ""}),
              Event(b"nul", {"a\x00b": "c"}), Event("ünïcode".encode(), {"ключ": "значение"})]
    put_all(ch, events)
    ch.stop()
    ch = started(tmp_path)
    assert ch.size() == len(events)
    got = take_all(ch)
    assert got == events
    ch.stop()


def test_crash_brings_back_uncommitted_takes_and_drops_uncommitted_puts(tmp_path: Path) -> None:
    ch = started(tmp_path)
    put_all(ch, make_events(10))
    with ch.transaction() as tx:
        assert len(tx.take_batch(3)) == 3  # committed take: gone for good
    tx = ch.transaction()
    tx.begin()
    assert bodies(tx.take_batch(4)) == bodies(make_events(4, start=3))  # never committed
    tx2 = ch.transaction()
    crash(ch)
    ch = started(tmp_path)
    assert bodies(take_all(ch)) == bodies(make_events(7, start=3))
    ch.stop()
    del tx2


def test_replay_reads_events_back_from_disk_not_from_the_cache(tmp_path: Path) -> None:
    ch = started(tmp_path)
    put_all(ch, make_events(50))
    ch.drop_cache()
    assert bodies(take_all(ch, batch=7)) == bodies(make_events(50))
    ch.stop()


def test_rollback_puts_taken_events_back_at_the_head_and_restart_keeps_that(tmp_path: Path) -> None:
    ch = started(tmp_path)
    put_all(ch, make_events(6))
    tx = ch.transaction()
    tx.begin()
    assert bodies(tx.take_batch(4)) == bodies(make_events(4))
    tx.rollback()
    tx.close()
    with ch.transaction() as t:
        assert bodies(t.take_batch(2)) == bodies(make_events(2))
    ch.stop()
    ch = started(tmp_path)
    assert bodies(take_all(ch)) == bodies(make_events(4, start=2))
    ch.stop()


def test_restart_with_a_full_channel(tmp_path: Path) -> None:
    ch = started(tmp_path, capacity="20", transactionCapacity="10")
    put_all(ch, make_events(10))
    put_all(ch, make_events(10, start=10))
    with pytest.raises(ChannelFullError):
        put_all(ch, [Event(b"no room")])
    crash(ch)
    ch = started(tmp_path, capacity="20", transactionCapacity="10")
    assert ch.size() == 20
    with pytest.raises(ChannelFullError, match="is full"):
        put_all(ch, [Event(b"still no room")])
    with ch.transaction() as tx:
        assert bodies(tx.take_batch(5)) == bodies(make_events(5))
    put_all(ch, make_events(5, prefix="new"))
    assert bodies(take_all(ch)) == bodies(make_events(15, start=5)) + bodies(make_events(5, prefix="new"))
    ch.stop()


def test_two_data_dirs_both_used_and_replayed_in_commit_order(tmp_path: Path) -> None:
    dirs = f"{tmp_path / 'd1'},{tmp_path / 'd2'}"
    ch = started(tmp_path, dataDirs=dirs)
    for i in range(10):
        put_all(ch, make_events(5, start=5 * i))
    with ch.transaction() as tx:
        tx.take_batch(12)
    crash(ch)
    for d in ("d1", "d2"):
        assert any(os.path.getsize(p) > HEADER_SIZE for _, p in list_logs(str(tmp_path / d))), d
    ch = started(tmp_path, dataDirs=dirs)
    assert bodies(take_all(ch)) == bodies(make_events(38, start=12))
    ch.stop()


def test_corrupt_checkpoint_falls_back_to_backup_then_to_full_replay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = {"useDualCheckpoints": "true", "backupCheckpointDir": str(tmp_path / "backup")}
    ch = started(tmp_path, **keys)
    put_all(ch, make_events(20))
    with ch.transaction() as tx:
        tx.take_batch(5)
    ch.stop()
    primary = tmp_path / "checkpoint" / "checkpoint"
    data = bytearray(primary.read_bytes())
    data[len(data) // 2] ^= 0xFF
    primary.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        ch = started(tmp_path, **keys)
    assert "checkpoint in" in caplog.text and "checksum mismatch" in caplog.text
    assert "using the backup checkpoint" in caplog.text
    assert bodies(take_all(ch)) == bodies(make_events(15, start=5))
    put_all(ch, make_events(3, prefix="after"))
    ch.stop()
    # Both checkpoints unusable: a full replay of the logs gives the same answer.
    (tmp_path / "checkpoint" / "checkpoint").write_bytes(b"garbage")
    (tmp_path / "backup" / "checkpoint").write_bytes(b"")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ch = started(tmp_path, **keys)
    assert "full replay" in caplog.text
    assert bodies(take_all(ch)) == bodies(make_events(3, prefix="after"))
    ch.stop()


def test_truncating_the_newest_log_at_every_offset_of_its_last_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "src"
    ch = started(src)
    writer = ch._writers[0]
    states: list[list[bytes]] = []  # channel content after each commit
    ends: list[int] = []  # log offset at which each commit's records end
    content: list[bytes] = []
    for i in range(4):
        batch = make_events(3, prefix=f"b{i}")
        if i == 2:
            batch[0].headers["h"] = "x" * 20
        put_all(ch, batch)
        content += bodies(batch)
        states.append(list(content))
        ends.append(writer.pos)
        with ch.transaction() as tx:
            content = content[len(tx.take_batch(2)):]
        states.append(list(content))
        ends.append(writer.pos)
    fid, path = list_logs(str(src / "data"))[-1]
    crash(ch)
    size = os.path.getsize(path)
    assert size == ends[-1]
    first = ends[-3]  # the last records: the final put and take transactions
    raw = Path(path).read_bytes()
    boundaries = {HEADER_SIZE}
    pos = HEADER_SIZE
    while pos < len(raw):
        pos += 8 + struct.unpack_from("<I", raw, pos)[0]
        boundaries.add(pos)
    for cut in range(first, size + 1):
        work = tmp_path / f"cut{cut}"
        shutil.copytree(src, work)
        with open(work / "data" / os.path.basename(path), "r+b") as f:
            f.truncate(cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            ch = started(work)
        applied = sum(1 for e in ends if e <= cut)
        expected = states[applied - 1]
        assert bodies(take_all(ch)) == expected, f"cut at {cut}"
        if cut not in boundaries:
            last_good = max(b for b in boundaries if b <= cut)
            assert f"{os.path.basename(path)}: torn or corrupt record at offset {last_good}" in caplog.text, \
                caplog.text
        ch.stop()
        shutil.rmtree(work)


def test_corrupt_bytes_in_the_middle_of_a_record_end_that_file_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ch = started(tmp_path)
    put_all(ch, make_events(3))
    mid = ch._writers[0].pos
    put_all(ch, make_events(3, start=3))
    fid, path = list_logs(str(tmp_path / "data"))[-1]
    crash(ch)
    with open(path, "r+b") as f:
        f.seek(mid + 30)
        f.write(b"\xde\xad")
    with caplog.at_level(logging.WARNING):
        ch = started(tmp_path)
    assert f"torn or corrupt record at offset {mid} (checksum mismatch of the event at offset" in caplog.text
    assert bodies(take_all(ch)) == bodies(make_events(3))
    ch.stop()


def test_checkpoint_deletes_consumed_log_files_and_restart_skips_them(tmp_path: Path) -> None:
    ch = started(tmp_path, maxFileSize="2000")
    for i in range(40):
        put_all(ch, make_events(10, start=10 * i))
    assert len(list_logs(str(tmp_path / "data"))) >= 5
    got = bodies(take_all(ch, batch=30))
    assert got == bodies(make_events(400))
    ch.checkpoint()
    assert len(list_logs(str(tmp_path / "data"))) <= 2
    put_all(ch, make_events(4, prefix="tail"))
    crash(ch)
    ch = started(tmp_path, maxFileSize="2000")
    assert bodies(take_all(ch)) == bodies(make_events(4, prefix="tail"))
    ch.stop()


def test_periodic_checkpoint_runs(tmp_path: Path) -> None:
    ch = started(tmp_path, checkpointInterval="50")
    put_all(ch, make_events(5))
    before = ch.counters.get("CheckpointWriteCount")
    import time

    deadline = time.monotonic() + 10
    while ch.counters.get("CheckpointWriteCount") < before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ch.counters.get("CheckpointWriteCount") >= before + 2
    crash(ch)
    ch = started(tmp_path)
    assert bodies(take_all(ch)) == bodies(make_events(5))
    ch.stop()


def test_low_disk_space_refuses_puts_while_takes_go_on(tmp_path: Path) -> None:
    free = {"bytes": 10 << 30}
    ch = make(tmp_path, probe=lambda path: free["bytes"], minimumRequiredSpace=str(100 << 20))
    ch.start()
    put_all(ch, make_events(5))
    free["bytes"] = 50 << 20
    with pytest.raises(ChannelError, match=r"only 52428800 bytes free in .*data, below minimumRequiredSpace "
                                           r"104857600: puts are refused until space is freed \(takes go on\)"):
        put_all(ch, [Event(b"refused")])
    with ch.transaction() as tx:
        assert bodies(tx.take_batch(2)) == bodies(make_events(2))
    free["bytes"] = 10 << 30
    put_all(ch, [Event(b"accepted again")])
    assert bodies(take_all(ch)) == bodies(make_events(3, start=2)) + [b"accepted again"]
    ch.stop()


def test_second_channel_on_the_same_directories_gets_a_clear_lock_error(tmp_path: Path) -> None:
    ch = started(tmp_path)
    other = make(tmp_path)
    with pytest.raises(ChannelError, match=rf"directory .* is in use by another file channel \(pid {os.getpid()}"):
        other.start()
    ch.stop()
    other.start()  # the lock is free once the first one stopped
    other.stop()


def test_config_checks_and_warnings_for_keys_flumepy_does_not_implement(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="transactionCapacity: 50 is larger than capacity"):
        make(tmp_path, capacity="10", transactionCapacity="50")
    with pytest.raises(ConfigError, match="backupCheckpointDir: is required when useDualCheckpoints"):
        make(tmp_path, useDualCheckpoints="true")
    with pytest.raises(ConfigError, match="must differ from checkpointDir"):
        make(tmp_path, useDualCheckpoints="true", backupCheckpointDir=str(tmp_path / "checkpoint"))
    ctx = Context({"checkpointDir": str(tmp_path / "c"), "dataDirs": str(tmp_path / "d"),
                   "use-fast-replay": "true", "fsyncPerTransaction": "false",
                   "encryption.activeKey": "key-0"}, prefix="a1.channels.c1.")
    ch = FileChannel("c1")
    ch.configure(ctx)
    text = "\n".join(p.format() for p in ctx.problems)
    assert "a1.channels.c1.use-fast-replay: warning: accepted but not implemented" in text
    assert "a1.channels.c1.fsyncPerTransaction: warning: accepted but not implemented" in text
    assert "a1.channels.c1.encryption.activeKey: warning: accepted but not implemented" in text
    assert ch.capacity == 1000000 and ch.transaction_capacity == 10000
    assert ch.data_dirs == [str(tmp_path / "d")]
    default = FileChannel("c2")
    default.configure(Context({}))
    assert default.checkpoint_dir == os.path.expanduser("~/.flume/file-channel/checkpoint")
    assert default.data_dirs == [os.path.expanduser("~/.flume/file-channel/data")]


def test_counters(tmp_path: Path) -> None:
    ch = started(tmp_path, capacity="100", transactionCapacity="10")
    put_all(ch, make_events(10))
    with ch.transaction() as tx:
        tx.take_batch(4)
    snap = ch.counters.snapshot()
    assert snap["ChannelSize"] == "6" and snap["ChannelCapacity"] == "100"
    assert snap["ChannelFillPercentage"] == "6.0"
    assert snap["EventPutSuccessCount"] == "10" and snap["EventTakeSuccessCount"] == "4"
    assert int(snap["ReplayCount"]) == 1 and int(snap["CheckpointWriteCount"]) >= 1
    ch.stop()


def test_a_flipped_byte_anywhere_in_the_last_transaction_drops_just_that_transaction(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "src"
    ch = started(src)
    put_all(ch, make_events(3))
    start = ch._writers[0].pos
    put_all(ch, [Event(b"last-a", {"k": "v"}), Event(b"last-b")])
    end = ch._writers[0].pos
    fid, path = list_logs(str(src / "data"))[-1]
    crash(ch)
    name = os.path.basename(path)
    for off in range(start, end):
        work = tmp_path / f"flip{off}"
        shutil.copytree(src, work)
        with open(work / "data" / name, "r+b") as f:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0x40]))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            ch = started(work)
        got = bodies(take_all(ch))
        ch.stop()
        shutil.rmtree(work)
        assert got == bodies(make_events(3)), f"flip at {off}"
        assert f"{name}: torn or corrupt record at offset" in caplog.text, f"flip at {off}"
