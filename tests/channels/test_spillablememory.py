"""SPILLABLEMEMORY: memory first, spill to the file channel in order, spilled events survive restart."""

from __future__ import annotations

from pathlib import Path

from flumepy.channels.spillablememory import SpillableMemoryChannel
from flumepy.core.context import Context
from flumepy.testing import make_events
from flumepy.testing.channel_contract import put_all, take_all


def make(tmp: Path, **keys: str) -> SpillableMemoryChannel:
    values = {"memoryCapacity": "10", "overflowCapacity": "1000", "overflowTimeout": "0",
              "transactionCapacity": "10", "checkpointDir": str(tmp / "checkpoint"),
              "dataDirs": str(tmp / "data"), "minimumRequiredSpace": "0"}
    values.update(keys)
    ch = SpillableMemoryChannel("c1")
    ch.configure(Context(values))
    ch.TAKE_LINGER = 0.0
    ch.start()
    return ch


def bodies(events: list) -> list[bytes]:
    return [e.body for e in events]


def test_spills_when_memory_is_full_and_takes_keep_put_order(tmp_path: Path) -> None:
    ch = make(tmp_path)
    for i in range(5):
        put_all(ch, make_events(10, start=10 * i))
    assert len(ch._mem) == 10 and ch.overflow.size() == 40
    with ch.transaction() as tx:
        assert bodies(tx.take_batch(10)) == bodies(make_events(10))
    # Memory has room again, but spilled events are pending: new puts follow them in the overflow.
    put_all(ch, make_events(5, start=50))
    tx = ch.transaction()
    tx.begin()
    assert bodies(tx.take_batch(10)) == bodies(make_events(10, start=10))
    tx.rollback()
    tx.close()
    assert bodies(take_all(ch)) == bodies(make_events(45, start=10))
    # Overflow drained: memory is used again.
    put_all(ch, make_events(3, prefix="mem"))
    assert len(ch._mem) == 3 and ch.overflow.size() == 0
    assert bodies(take_all(ch)) == bodies(make_events(3, prefix="mem"))
    ch.stop()


def test_spilled_events_survive_a_restart_memory_ones_do_not(tmp_path: Path) -> None:
    ch = make(tmp_path)
    put_all(ch, make_events(10))
    put_all(ch, make_events(10, start=10))
    ch.stop()
    ch = make(tmp_path)
    assert bodies(take_all(ch)) == bodies(make_events(10, start=10))
    ch.stop()


def test_file_channel_keys_reach_the_overflow(tmp_path: Path) -> None:
    ctx = Context({"memoryCapacity": "5", "overflowCapacity": "50", "dataDirs": str(tmp_path / "d"),
                   "checkpointDir": str(tmp_path / "c"), "capacity": "7", "overflowDeactivationThreshold": "3"},
                  prefix="a1.channels.c1.")
    ch = SpillableMemoryChannel("c1")
    ch.configure(ctx)
    assert ch.overflow.capacity == 50 and ch.overflow.data_dirs == [str(tmp_path / "d")]
    assert ch.capacity == 55
    text = "\n".join(p.format() for p in ctx.problems)
    assert "a1.channels.c1.capacity: warning: accepted but not implemented" in text
    assert "overflowDeactivationThreshold: warning" in text
