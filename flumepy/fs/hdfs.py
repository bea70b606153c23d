"""``hdfs://namenode:port/...`` through ``hdfs-native`` (the NameNode's RPC protocol; no JVM, no libhdfs).

* ``sync()`` is ``hsync()``: it returns once the DataNodes have the bytes and the NameNode knows the
  new length, so readers see them. ``flush()`` only hands bytes to the client (it is not hflush).
* hdfs-native's own reader does not return the last, unfinished block of a file still open for write.
  ``open()`` notices (the NameNode reports more bytes than the reader sees) and reads such a file
  through WebHDFS instead, at the NameNode's HTTP address: the ``webhdfs`` option (``host:port``), else
  ``dfs.namenode.http-address`` from ``$HADOOP_CONF_DIR/hdfs-site.xml``, else port 9870 (Hadoop 3) or
  50070 (Hadoop 2) on the NameNode's host. Without any, only the completed blocks are visible.
* ``recover_lease()`` forces lease recovery of a file a dead writer left open (hdfs-native's
  ``recover_lease``); it returns True once the NameNode has closed the file.
"""

from __future__ import annotations

import io
import logging
import os
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any, BinaryIO

import hdfs_native

from flumepy.fs.base import FileInfo, FileSystem, OutputStream

log = logging.getLogger(__name__)

# hdfs-native's default retries an unreachable NameNode for ~3 minutes; the sink has its own retry/backoff.
CLIENT_DEFAULTS = {
    "dfs.client.failover.max.attempts": "3",
    "dfs.client.failover.sleep.base.millis": "200",
    "dfs.client.failover.sleep.max.millis": "1000",
}


def _error(e: Exception, path: str) -> OSError:
    """hdfs-native raises builtin errors for missing/existing paths and RuntimeError for the rest."""
    if isinstance(e, (FileNotFoundError, FileExistsError, IsADirectoryError, PermissionError)):
        return e
    if isinstance(e, OSError):  # e.g. "Connection refused (os error 111)": say where
        return OSError(e.errno, f"{path}: {e.strerror or e}")
    msg = str(e)
    m = re.match(r'RPCError\("([^"]+)", "(.*?)(?:\\n|"\))', msg)
    if m:
        first = f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(2)}"
    else:
        first = msg.splitlines()[0] if msg else type(e).__name__
    if "PathIsNotEmptyDirectoryException" in msg or "is non empty" in msg:
        return OSError(f"{path}: directory is not empty")
    if "AlreadyBeingCreatedException" in msg or "RecoveryInProgressException" in msg:
        return OSError(f"{path}: still open by another writer (lease held): {first}")
    return OSError(f"{path}: {first}")


class _HdfsOut(OutputStream):
    def __init__(self, writer: hdfs_native.FileWriter, path: str, offset: int) -> None:
        self._w = writer
        self._path = path
        self._pos = offset
        self._closed = False

    def write(self, data: bytes) -> int:
        if type(data) is not bytes:  # hdfs-native is ~5x slower on memoryview slices
            data = bytes(data)
        try:
            self._w.write(data)
        except (RuntimeError, OSError) as e:
            raise _error(e, self._path) from e
        self._pos += len(data)
        return len(data)

    def flush(self) -> None:
        try:
            self._w.flush()
        except (RuntimeError, OSError) as e:
            raise _error(e, self._path) from e

    def sync(self) -> None:
        try:
            self._w.hsync()
        except (RuntimeError, OSError) as e:
            raise _error(e, self._path) from e

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._w.close()
        except (RuntimeError, OSError) as e:
            raise _error(e, self._path) from e


class _NativeReader(io.RawIOBase):
    """hdfs-native's FileReader has read()/seek() but no readinto(), which io.BufferedReader needs."""

    def __init__(self, reader: hdfs_native.FileReader, path: str) -> None:
        self._r = reader
        self._path = path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._r.seek(offset, whence)
        return int(self._r.tell())

    def tell(self) -> int:
        return int(self._r.tell())

    def readinto(self, b: Any) -> int:
        try:
            data = self._r.read(len(b))
        except (RuntimeError, OSError) as e:
            raise _error(e, self._path) from e
        n = len(data)
        b[:n] = data
        return n

    def readall(self) -> bytes:
        try:
            return bytes(self._r.read())
        except (RuntimeError, OSError) as e:
            raise _error(e, self._path) from e

    def close(self) -> None:
        if not self.closed:
            self._r.close()
        super().close()


def _conf_http_address() -> str | None:
    conf = os.environ.get("HADOOP_CONF_DIR")
    if not conf:
        return None
    try:
        root = ET.parse(os.path.join(conf, "hdfs-site.xml")).getroot()
    except (OSError, ET.ParseError):
        return None
    for prop in root.iter("property"):
        if (prop.findtext("name") or "").strip() == "dfs.namenode.http-address":
            return (prop.findtext("value") or "").strip() or None
    return None


class HdfsFileSystem(FileSystem):
    scheme = "hdfs"

    def __init__(self, netloc: str, webhdfs: str | None = None, **options: str) -> None:
        """``options`` with dotted names (``dfs.client.socket-timeout``...) go to hdfs-native's config."""
        self.netloc = netloc
        self.config = {**CLIENT_DEFAULTS, **{k: str(v) for k, v in options.items() if "." in k}}
        self.host = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
        self._webhdfs_option = webhdfs
        self._webhdfs: Any = None  # WebHdfsFileSystem once resolved; False when none answers
        self._client: hdfs_native.Client | None = None

    @property
    def client(self) -> hdfs_native.Client:
        if self._client is None:
            self._client = hdfs_native.Client(f"hdfs://{self.netloc}", config=self.config)
        return self._client

    def create(self, path: str, overwrite: bool = False) -> OutputStream:
        opts = hdfs_native.WriteOptions(overwrite=overwrite, create_parent=True)
        try:
            return _HdfsOut(self.client.create(path, opts), path, 0)
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e

    def append(self, path: str) -> OutputStream:
        size = self.status(path).size
        try:
            return _HdfsOut(self.client.append(path), path, size)
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e

    def open(self, path: str) -> BinaryIO:
        info = self.status(path)
        if info.is_dir:
            raise IsADirectoryError(f"{self.url(path)} is a directory")
        try:
            reader = self.client.read(path)
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e
        if reader.size < info.size:  # the last block is still being written
            web = self._web()
            if web is not None:
                reader.close()
                return web.open(path)  # type: ignore[no-any-return]
            log.warning("%s is open for write: without WebHDFS only its first %d of %d bytes are readable",
                        self.url(path), reader.size, info.size)
        return io.BufferedReader(_NativeReader(reader, path), 1024 * 1024)  # type: ignore[return-value]

    def _web(self) -> Any:
        if self._webhdfs is None:
            self._webhdfs = False
            from flumepy.fs.webhdfs import WebHdfsFileSystem

            conf = _conf_http_address()
            if conf and conf.startswith("0.0.0.0:"):
                conf = f"{self.host}:{conf.split(':', 1)[1]}"
            candidates = [a for a in (self._webhdfs_option, conf) if a] or [f"{self.host}:9870", f"{self.host}:50070"]
            for addr in candidates:
                try:
                    with urllib.request.urlopen(f"http://{addr}/webhdfs/v1/?op=GETFILESTATUS", timeout=3):
                        pass
                except (OSError, urllib.error.URLError) as e:
                    log.debug("no WebHDFS at %s: %s", addr, e)
                    continue
                self._webhdfs = WebHdfsFileSystem(addr)
                break
        return self._webhdfs or None

    def rename(self, src: str, dst: str) -> None:
        try:
            self.client.rename(src, dst, overwrite=False)
        except FileExistsError as e:
            raise FileExistsError(f"cannot rename {self.url(src)} to {self.url(dst)}: destination exists") from e
        except (RuntimeError, OSError) as e:
            if self.exists(dst):  # e.g. a directory there: "must both be directories"
                raise FileExistsError(f"cannot rename {self.url(src)} to {self.url(dst)}: destination exists") from e
            raise _error(e, src) from e

    def exists(self, path: str) -> bool:
        try:
            self.client.get_file_info(path)
        except FileNotFoundError:
            return False
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e
        return True

    @staticmethod
    def _info(st: Any) -> FileInfo:
        return FileInfo(st.path, int(st.length), bool(st.isdir), st.modification_time / 1000.0)

    def status(self, path: str) -> FileInfo:
        try:
            st = self.client.get_file_info(path)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{self.url(path)}: no such file or directory") from e
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e
        return FileInfo(path, int(st.length), bool(st.isdir), st.modification_time / 1000.0)

    def list(self, path: str) -> list[FileInfo]:
        info = self.status(path)
        if not info.is_dir:
            return [info]
        try:
            entries = list(self.client.list_status(path))
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e
        return sorted((self._info(st) for st in entries), key=lambda i: i.path)

    def mkdirs(self, path: str) -> None:
        try:
            self.client.mkdirs(path, create_parent=True)
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e

    def delete(self, path: str, recursive: bool = False) -> None:
        try:
            self.client.delete(path, recursive)
        except FileNotFoundError:
            pass
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e

    def recover_lease(self, path: str) -> bool:
        try:
            return bool(self.client.recover_lease(path))
        except (RuntimeError, OSError) as e:
            raise _error(e, path) from e

    def url(self, path: str) -> str:
        return f"hdfs://{self.netloc}{path}"

    def close(self) -> None:
        self._client = None
