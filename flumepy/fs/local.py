"""Local paths and ``file://`` URLs (the embedded default when there is no cluster)."""

from __future__ import annotations

import os
import shutil
from typing import BinaryIO

from flumepy.fs.base import FileInfo, FileSystem, OutputStream


class _LocalOut(OutputStream):
    """A local file opened with O_DSYNC: every write(2) returns once its bytes are on disk, so
    ``sync()`` is a flush of the buffer, one system call (write + fdatasync would be two, and a
    thread waits for the GIL after each)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def write(self, data: bytes) -> int:
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()

    def sync(self) -> None:
        self._f.flush()
        if not _O_DSYNC:  # a platform without O_DSYNC: make the bytes durable explicitly
            os.fsync(self._f.fileno())

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


_O_DSYNC: int = getattr(os, "O_DSYNC", 0)


def _open_dsync(path: str, flags: int) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | _O_DSYNC | flags, 0o644)
    try:
        return os.fdopen(fd, "ab" if flags & os.O_APPEND else "wb")
    except BaseException:
        os.close(fd)
        raise


class LocalFileSystem(FileSystem):
    scheme = "file"
    calls_can_hang = False

    def create(self, path: str, overwrite: bool = False) -> OutputStream:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        return _LocalOut(_open_dsync(path, os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)))

    def append(self, path: str) -> OutputStream:
        return _LocalOut(_open_dsync(path, os.O_APPEND))

    def open(self, path: str) -> BinaryIO:
        return open(path, "rb")

    def rename(self, src: str, dst: str) -> None:
        if os.path.exists(dst):
            raise FileExistsError(f"cannot rename {src} to {dst}: destination exists")
        os.rename(src, dst)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def status(self, path: str) -> FileInfo:
        st = os.stat(path)
        return FileInfo(path, st.st_size, os.path.isdir(path), st.st_mtime)

    def list(self, path: str) -> list[FileInfo]:
        if not os.path.isdir(path):
            return [self.status(path)]
        return [self.status(os.path.join(path, n)) for n in sorted(os.listdir(path))]

    def mkdirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def delete(self, path: str, recursive: bool = False) -> None:
        if os.path.isdir(path):
            if recursive:
                shutil.rmtree(path)
            else:
                os.rmdir(path)
        elif os.path.exists(path):
            os.remove(path)

    def url(self, path: str) -> str:
        return "file://" + path
