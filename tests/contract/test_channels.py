"""The shared ChannelContract run against every built-in channel."""

from __future__ import annotations

from pathlib import Path

from flumepy.channels.file import FileChannel
from flumepy.channels.memory import MemoryChannel
from flumepy.channels.spillablememory import SpillableMemoryChannel
from flumepy.core.context import Context
from flumepy.testing import ChannelContract

# New channels: add a ``Test<Name>Channel(ChannelContract)`` class here with its make_channel.


class TestMemoryChannel(ChannelContract):
    def make_channel(self, workdir: Path, capacity: int, transaction_capacity: int) -> MemoryChannel:
        ch = MemoryChannel("c1")
        ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(transaction_capacity),
                              "keep-alive": "0"}))
        return ch


class TestMemoryChannelWithByteCapacity(ChannelContract):
    """The same contract with byte accounting switched on (a limit the tests never reach)."""

    def make_channel(self, workdir: Path, capacity: int, transaction_capacity: int) -> MemoryChannel:
        ch = MemoryChannel("c1")
        ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(transaction_capacity),
                              "keep-alive": "0", "byteCapacity": "10000000"}))
        return ch


class TestFileChannel(ChannelContract):
    """The durable file channel, with its checkpoint and log in the test's work directory."""

    def make_channel(self, workdir: Path, capacity: int, transaction_capacity: int) -> FileChannel:
        ch = FileChannel("c1")
        ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(transaction_capacity),
                              "keep-alive": "0", "checkpointDir": str(workdir / "checkpoint"),
                              "dataDirs": str(workdir / "data"), "minimumRequiredSpace": "0"}))
        return ch


class TestSpillableMemoryChannelMemoryOnly(ChannelContract):
    """SPILLABLEMEMORY with overflowCapacity = 0: a memory channel."""

    def make_channel(self, workdir: Path, capacity: int, transaction_capacity: int) -> SpillableMemoryChannel:
        ch = SpillableMemoryChannel("c1")
        ch.configure(Context({"memoryCapacity": str(capacity), "overflowCapacity": "0", "overflowTimeout": "0",
                              "transactionCapacity": str(transaction_capacity)}))
        return ch


class TestSpillableMemoryChannelOverflowOnly(ChannelContract):
    """SPILLABLEMEMORY with memoryCapacity = 0: every event goes through the overflow file channel."""

    def make_channel(self, workdir: Path, capacity: int, transaction_capacity: int) -> SpillableMemoryChannel:
        ch = SpillableMemoryChannel("c1")
        ch.configure(Context({"memoryCapacity": "0", "overflowCapacity": str(capacity), "overflowTimeout": "0",
                              "transactionCapacity": str(transaction_capacity), "keep-alive": "0",
                              "checkpointDir": str(workdir / "checkpoint"), "dataDirs": str(workdir / "data"),
                              "minimumRequiredSpace": "0"}))
        return ch
