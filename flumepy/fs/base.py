"""The filesystem contract the HDFS sink and the ``flumepy hdfs`` tools use (small on purpose)."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    is_dir: bool
    mtime: float  # seconds since the epoch


class OutputStream:
    """A file open for writing. ``sync()`` returns once written bytes are durable and visible."""

    def write(self, data: bytes) -> int:
        raise NotImplementedError

    def flush(self) -> None:
        """Hand buffered bytes to the filesystem (not necessarily durable)."""

    def sync(self) -> None:
        """Durable and visible to readers: hsync on HDFS; locally the writes are O_DSYNC."""
        raise NotImplementedError

    def tell(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> OutputStream:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class FileSystem:
    """Paths are absolute paths inside the filesystem (no scheme or authority)."""

    scheme = ""
    #: False when calls return or fail on their own (local disks): the HDFS sink then makes them on its
    #: own thread instead of in its I/O pool under ``hdfs.callTimeout``.
    calls_can_hang = True

    def create(self, path: str, overwrite: bool = False) -> OutputStream:
        raise NotImplementedError

    def append(self, path: str) -> OutputStream:
        raise NotImplementedError

    def open(self, path: str) -> BinaryIO:
        """A readable binary stream; for a file still being written, what is visible so far."""
        raise NotImplementedError

    def rename(self, src: str, dst: str) -> None:
        """Rename; fails if dst exists."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def status(self, path: str) -> FileInfo:
        raise NotImplementedError

    def list(self, path: str) -> list[FileInfo]:
        raise NotImplementedError

    def mkdirs(self, path: str) -> None:
        raise NotImplementedError

    def delete(self, path: str, recursive: bool = False) -> None:
        raise NotImplementedError

    def recover_lease(self, path: str) -> bool:
        """Close a file left open by a dead writer; True once it is closed. Local files: always True."""
        return True

    def url(self, path: str) -> str:
        """The full URL of ``path`` for messages."""
        return path

    def close(self) -> None:
        pass
