"""``webhdfs://host:port/...`` through the ``hdfs`` package (WebHDFS REST on the NameNode's HTTP port).

WebHDFS has no open output stream: a file is created empty, written bytes are buffered, and
``sync()`` sends them with one APPEND request, which returns once the DataNode pipeline has them
and the file is closed again, so they are visible to every reader. The user is ``user=`` or
``$HADOOP_USER_NAME`` or the current login name (simple authentication, as ``InsecureClient``).
"""

from __future__ import annotations

import getpass
import io
import logging
import os
from typing import BinaryIO

from hdfs import InsecureClient
from hdfs.util import HdfsError
from requests.exceptions import RequestException

from flumepy.fs.base import FileInfo, FileSystem, OutputStream

log = logging.getLogger(__name__)

# Buffered bytes beyond this are appended without waiting for sync() (bounds memory).
MAX_BUFFER = 16 * 1024 * 1024
READ_CHUNK = 4 * 1024 * 1024
TIMEOUT = (10, 120)  # connect, read (seconds)
ERRORS = (HdfsError, RequestException)


def hdfs_user(user: str | None = None) -> str:
    return user or os.environ.get("HADOOP_USER_NAME") or getpass.getuser()


def translate(e: Exception, path: str) -> OSError:
    """An ``HdfsError`` as the matching builtin OSError (the message keeps the NameNode's words)."""
    if isinstance(e, RequestException):
        return ConnectionError(f"{path}: {type(e).__name__}: {e}")
    exc = getattr(e, "exception", None) or ""
    msg = str(e).splitlines()[0] if str(e) else exc
    if exc == "FileNotFoundException" or "does not exist" in msg or "File not found" in msg:
        return FileNotFoundError(f"{path}: {msg}")
    if exc == "FileAlreadyExistsException" or "already exists" in msg:
        return FileExistsError(f"{path}: {msg}")
    if exc == "AccessControlException":
        return PermissionError(f"{path}: {msg}")
    return OSError(f"{path}: {msg}")


class _WebHdfsOut(OutputStream):
    def __init__(self, client: InsecureClient, path: str, offset: int) -> None:
        self._client = client
        self._path = path
        self._buf = bytearray()
        self._pos = offset
        self._closed = False

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError(f"write to closed file {self._path}")
        self._buf += data
        self._pos += len(data)
        if len(self._buf) >= MAX_BUFFER:
            self._send()
        return len(data)

    def _send(self) -> None:
        if not self._buf:
            return
        data = bytes(self._buf)
        try:
            self._client.write(self._path, data=data, append=True)
        except ERRORS as e:
            raise translate(e, self._path) from e
        del self._buf[: len(data)]

    def flush(self) -> None:
        """Keeps the bytes buffered: each request is a round trip; sync() sends them."""

    def sync(self) -> None:
        self._send()

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self._closed:
            self._send()
            self._closed = True


class WebHdfsReader(io.RawIOBase):
    """A file read in ranges (one OPEN request per chunk); sees data of files still open for write."""

    def __init__(self, client: InsecureClient, path: str) -> None:
        self._client = client
        self._path = path
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += int(self._client.status(self._path)["length"])
        self._pos = max(0, offset)
        return self._pos

    def readall(self) -> bytes:
        try:
            with self._client.read(self._path, offset=self._pos) as r:
                data = bytes(r.read())
        except ERRORS as e:
            if str(e).startswith("Offset="):
                return b""
            raise translate(e, self._path) from e
        self._pos += len(data)
        return data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        want = len(b)
        if want == 0:
            return 0
        try:
            with self._client.read(self._path, offset=self._pos, length=want) as r:
                data = r.read(want)
        except ERRORS as e:
            if str(e).startswith("Offset="):
                return 0  # at or past the end of what is visible
            raise translate(e, self._path) from e
        n = len(data)
        b[:n] = data
        self._pos += n
        return n


class WebHdfsFileSystem(FileSystem):
    scheme = "webhdfs"

    def __init__(self, netloc: str, user: str | None = None, **options: str) -> None:
        self.netloc = netloc
        self.user = hdfs_user(user)
        self._client: InsecureClient | None = None

    @property
    def client(self) -> InsecureClient:
        if self._client is None:
            self._client = InsecureClient(f"http://{self.netloc}", user=self.user, timeout=TIMEOUT)
        return self._client

    def create(self, path: str, overwrite: bool = False) -> OutputStream:
        try:
            self.client.write(path, data=b"", overwrite=overwrite)
        except ERRORS as e:
            raise translate(e, path) from e
        return _WebHdfsOut(self.client, path, 0)

    def append(self, path: str) -> OutputStream:
        return _WebHdfsOut(self.client, path, self.status(path).size)

    def open(self, path: str) -> BinaryIO:
        info = self.status(path)
        if info.is_dir:
            raise IsADirectoryError(f"{self.url(path)} is a directory")
        return io.BufferedReader(WebHdfsReader(self.client, path), READ_CHUNK)  # type: ignore[return-value]

    def rename(self, src: str, dst: str) -> None:
        # WebHDFS RENAME moves into an existing directory and answers false for an existing file: refuse both.
        if self.exists(dst):
            raise FileExistsError(f"cannot rename {self.url(src)} to {self.url(dst)}: destination exists")
        try:
            self.client.rename(src, dst)
        except ERRORS as e:
            raise translate(e, src) from e

    def exists(self, path: str) -> bool:
        try:
            return self.client.status(path, strict=False) is not None
        except ERRORS as e:
            raise translate(e, path) from e

    def status(self, path: str) -> FileInfo:
        try:
            st = self.client.status(path)
        except ERRORS as e:
            raise translate(e, path) from e
        return self._info(path, st)

    @staticmethod
    def _info(path: str, st: dict[str, object]) -> FileInfo:
        return FileInfo(path, int(st["length"]), st["type"] == "DIRECTORY",  # type: ignore[call-overload]
                        int(st["modificationTime"]) / 1000.0)  # type: ignore[call-overload]

    def list(self, path: str) -> list[FileInfo]:
        info = self.status(path)
        if not info.is_dir:
            return [info]
        try:
            entries = self.client.list(path, status=True)
        except ERRORS as e:
            raise translate(e, path) from e
        base = path.rstrip("/")
        return sorted((self._info(f"{base}/{name}", st) for name, st in entries), key=lambda i: i.path)

    def mkdirs(self, path: str) -> None:
        try:
            self.client.makedirs(path)
        except ERRORS as e:
            raise translate(e, path) from e

    def delete(self, path: str, recursive: bool = False) -> None:
        try:
            self.client.delete(path, recursive=recursive)
        except ERRORS as e:
            raise translate(e, path) from e

    def recover_lease(self, path: str) -> bool:
        """WebHDFS has no RECOVERLEASE: an empty APPEND succeeds once the file is closed. While a (dead)
        writer's lease is held it fails, and the NameNode itself starts recovery once the lease's soft
        limit (60 s) has passed, so callers poll this. The hdfs:// backend forces recovery at once."""
        try:
            self.client.write(path, data=b"", append=True)
        except ERRORS as e:
            msg = str(e)
            if any(s in msg for s in ("AlreadyBeingCreated", "RecoveryInProgress", "being created",
                                      "lease", "Failed to APPEND", "failed to create")):
                log.debug("lease of %s still held: %s", path, msg.splitlines()[0] if msg else e)
                return False
            raise translate(e, path) from e
        return True

    def url(self, path: str) -> str:
        return f"webhdfs://{self.netloc}{path}"
