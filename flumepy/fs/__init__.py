"""Filesystems behind one small interface: local paths / ``file://``, ``hdfs://`` and ``webhdfs://``.

    fs, path = filesystem_for("hdfs://127.0.0.1:8020/flumedata")
    with fs.create(path + "/FlumeData.1.tmp") as out:
        out.write(b"...")
        out.sync()          # durable and visible to readers (hsync on HDFS, O_DSYNC writes locally)
    fs.rename(src, dst)

Backends are imported only when a URL of their scheme is used; a missing optional dependency is an
error that names the extra to install (``pip install flumepy[hdfs]``).
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from flumepy.fs.base import FileInfo, FileSystem, OutputStream

__all__ = ["FileInfo", "FileSystem", "OutputStream", "filesystem_for", "BACKENDS"]

# scheme -> (module:Class, pip extra providing its dependency)
BACKENDS: dict[str, tuple[str, str]] = {
    "file": ("flumepy.fs.local:LocalFileSystem", ""),
    "hdfs": ("flumepy.fs.hdfs:HdfsFileSystem", "flumepy[hdfs]"),
    "webhdfs": ("flumepy.fs.webhdfs:WebHdfsFileSystem", "flumepy[hdfs]"),
}


def filesystem_for(url: str, **options: str) -> tuple[FileSystem, str]:
    """The filesystem for ``url`` and the path inside it. A plain path is a local path."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() if len(parts.scheme) > 1 else "file"  # "C:" is not a scheme
    if scheme not in BACKENDS:
        raise ValueError(f"unsupported filesystem scheme {scheme!r} in {url!r}; supported: "
                         f"{', '.join(sorted(BACKENDS))}")
    target, extra = BACKENDS[scheme]
    mod_name, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except ImportError as e:
        raise ImportError(f"{scheme}:// needs {e.name}: pip install {extra}") from e
    if scheme == "file":
        return cls(), parts.path if parts.scheme else url
    return cls(parts.netloc, **options), parts.path or "/"
