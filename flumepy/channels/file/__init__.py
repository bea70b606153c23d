"""The durable file channel (type ``file``): write-ahead log, group commit, checkpoints, replay."""

from flumepy.channels.file.channel import FileChannel

__all__ = ["FileChannel"]
