"""``flumepy hdfs ls|cat|tail [-f] URL``: read what the HDFS sink wrote, on any backend.

URLs are ``hdfs://nn:port/path``, ``webhdfs://nn:http-port/path``, ``file:///path`` or plain local
paths. Files still being written (Flume's in-use ``.tmp`` files) are read too. Each file is decoded
by its first bytes into lines:

* SequenceFile (``SEQ``): one line per record value (``--keys`` puts the key, e.g. the event
  timestamp, and a tab before it); NONE/RECORD/BLOCK compression with deflate, gzip, bzip2;
* gzip / bzip2 streams (CompressedStream; ``.deflate`` files by their name);
* Parquet (``PAR1``): the ``body`` column, or each row as JSON when there is none (only once the
  file is closed: Parquet keeps its index at the end);
* Avro container files (the ``avro_event`` serializer): the ``body`` of each record, once closed;
* anything else as text (DataStream).

``tail -f`` follows the newest file and every file created or still in use, across the rename from
``<name>.tmp`` to ``<name>`` (polling every ``--interval`` seconds).
"""

from __future__ import annotations

import argparse
import bz2
import io
import json
import logging
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from flumepy.core.errors import FlumeError
from flumepy.fs import FileInfo, FileSystem, filesystem_for

log = logging.getLogger(__name__)

SNIFF = 16


# ------------------------------------------------------------------------------------------------- decoders


class Decoder:
    """Bytes of one file in order -> lines (without their newline)."""

    def feed(self, data: bytes) -> list[bytes]:
        raise NotImplementedError

    def finish(self) -> list[bytes]:
        """The file is complete: whatever is left."""
        return []


class TextDecoder(Decoder):
    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        return lines

    def finish(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return [rest] if rest else []


class DecompressingDecoder(Decoder):
    """Concatenated gzip members / zlib or bzip2 streams (each flush of the sink may start a new one)."""

    def __init__(self, make: Callable[[], Any], what: str) -> None:
        self._make = make
        self._what = what
        self._d = make()
        self._text = TextDecoder()

    def feed(self, data: bytes) -> list[bytes]:
        out = []
        while data:
            try:
                out.append(self._d.decompress(data))
            except (zlib.error, OSError, EOFError) as e:
                raise FlumeError(f"corrupt {self._what} stream: {e}") from None
            if not self._d.eof:
                break
            data = self._d.unused_data
            self._d = self._make()
        return self._text.feed(b"".join(out))

    def finish(self) -> list[bytes]:
        return self._text.finish()


class SequenceFileDecoder(Decoder):
    def __init__(self, keys: bool) -> None:
        from flumepy.formats.sequencefile_reader import SequenceFileReader

        self._reader = SequenceFileReader()
        self._keys = keys

    def _line(self, key: object, value: object) -> bytes:
        v = value if isinstance(value, bytes) else str(value).encode()
        if v.endswith(b"\n"):
            v = v[:-1]
        if not self._keys:
            return v
        k = key if isinstance(key, bytes) else str(key).encode()
        return k + b"\t" + v

    def feed(self, data: bytes) -> list[bytes]:
        from flumepy.formats.sequencefile_reader import SequenceFileError

        try:
            return [self._line(k, v) for k, v in self._reader.feed(data)]
        except SequenceFileError as e:
            raise FlumeError(str(e)) from None

    def finish(self) -> list[bytes]:
        from flumepy.formats.sequencefile_reader import SequenceFileError

        try:
            self._reader.finish()
        except SequenceFileError as e:
            raise FlumeError(str(e)) from None
        return []


def _json_default(o: object) -> object:
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    return str(o)


def _body_line(body: object) -> bytes:
    b = body if isinstance(body, bytes) else str(body).encode()
    return b[:-1] if b.endswith(b"\n") else b


def _headers_json(headers: object) -> bytes:
    if isinstance(headers, list):  # a Parquet map column reads as [(key, value), ...]
        headers = dict(headers)
    return json.dumps(headers, default=_json_default, sort_keys=True).encode()


class WholeFileDecoder(Decoder):
    """Formats readable only complete (Parquet footer, Avro container): decoded at finish()."""

    def __init__(self, decode: Callable[[bytes, bool], list[bytes]], keys: bool) -> None:
        self._buf = bytearray()
        self._decode = decode
        self._keys = keys

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        return []

    def finish(self) -> list[bytes]:
        data, self._buf = bytes(self._buf), bytearray()
        return self._decode(data, self._keys) if data else []


def decode_parquet(data: bytes, keys: bool) -> list[bytes]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise FlumeError("reading Parquet needs pyarrow: pip install flumepy[parquet]") from e
    try:
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
    except Exception as e:  # pyarrow raises its own ArrowInvalid etc.
        raise FlumeError(f"cannot read Parquet: {e}") from None
    out = []
    for row in rows:
        if "body" in row:
            line = _body_line(row["body"])
            if keys and "headers" in row:
                line = _headers_json(row["headers"]) + b"\t" + line
        else:
            line = json.dumps(row, default=_json_default, sort_keys=True).encode()
        out.append(line)
    return out


def decode_avro(data: bytes, keys: bool) -> list[bytes]:
    import fastavro

    try:
        records = list(fastavro.reader(io.BytesIO(data)))
    except Exception as e:  # fastavro raises ValueError, EOFError, SchemaParseException...
        raise FlumeError(f"cannot read Avro container: {e}") from None
    out = []
    for rec in records:
        if isinstance(rec, dict) and "body" in rec:
            line = _body_line(rec["body"])
            if keys and "headers" in rec:
                line = _headers_json(rec["headers"]) + b"\t" + line
        else:
            line = json.dumps(rec, default=_json_default, sort_keys=True).encode()
        out.append(line)
    return out


def decoder_for(name: str, head: bytes, keys: bool = False) -> Decoder:
    """Pick a decoder by the first bytes (``head``) of a file, or by its name for headerless deflate."""
    base = re.sub(r"\.tmp$", "", name)
    if head.startswith(b"SEQ"):
        return SequenceFileDecoder(keys)
    if head.startswith(b"\x1f\x8b"):
        return DecompressingDecoder(lambda: zlib.decompressobj(31), "gzip")
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return DecompressingDecoder(bz2.BZ2Decompressor, "bzip2")
    if head.startswith(b"PAR1"):
        return WholeFileDecoder(decode_parquet, keys)
    if head.startswith(b"Obj\x01"):
        return WholeFileDecoder(decode_avro, keys)
    if base.endswith(".deflate"):
        return DecompressingDecoder(lambda: zlib.decompressobj(15), "deflate")
    for ext in (".snappy", ".lz4", ".lzo", ".zst"):
        if base.endswith(ext):
            raise FlumeError(f"{name}: {ext[1:]}-compressed files cannot be decoded by flumepy")
    return TextDecoder()


MAGICS = (b"SEQ", b"\x1f\x8b", b"BZh", b"PAR1", b"Obj\x01")


def _decidable(head: bytes) -> bool:
    """Enough bytes to tell the format (a growing text file is decided after its first byte)."""
    if len(head) >= SNIFF:
        return True
    if not head or any(m.startswith(head) for m in MAGICS):
        return False
    return not (head.startswith(b"BZh") and len(head) < 10)


class AutoDecoder(Decoder):
    """Buffers the first bytes until the format can be told, then hands over to the right decoder."""

    def __init__(self, name: str, keys: bool) -> None:
        self.name = name
        self._keys = keys
        self._head = b""
        self._inner: Decoder | None = None

    def feed(self, data: bytes) -> list[bytes]:
        if self._inner is None:
            self._head += data
            if not _decidable(self._head):
                return []
            self._inner = decoder_for(self.name, self._head, self._keys)
            data, self._head = self._head, b""
        return self._inner.feed(data)

    def finish(self) -> list[bytes]:
        if self._inner is None:
            if not self._head:
                return []
            self._inner = decoder_for(self.name, self._head, self._keys)
            lines = self._inner.feed(self._head)
            self._head = b""
            return lines + self._inner.finish()
        return self._inner.finish()


# -------------------------------------------------------------------------------------------------- listing


def _natural(s: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _hidden(name: str) -> bool:
    return name.startswith(".") and name.endswith(".crc")  # checksums beside local Hadoop files


def walk(fs: FileSystem, path: str, recursive: bool) -> list[FileInfo]:
    """Files under ``path`` (itself if it is a file), in natural name order."""
    out = []
    for info in fs.list(path):
        if info.is_dir:
            if recursive and info.path.rstrip("/") != path.rstrip("/"):
                out.extend(walk(fs, info.path, True))
        elif not _hidden(_name(info.path)):
            out.append(info)
    return sorted(out, key=lambda i: _natural(i.path))


@dataclass
class Naming:
    """Flume's in-use naming: ``<inUsePrefix><name><inUseSuffix>`` while open, ``<name>`` once closed."""

    prefix: str = ""
    suffix: str = ".tmp"

    def in_use(self, path: str) -> bool:
        n = _name(path)
        return bool((self.suffix and n.endswith(self.suffix)) or (self.prefix and n.startswith(self.prefix)))

    def final_key(self, path: str) -> str:
        head, _, n = path.rstrip("/").rpartition("/")
        if self.suffix and n.endswith(self.suffix):
            n = n[: -len(self.suffix)]
        if self.prefix and n.startswith(self.prefix):
            n = n[len(self.prefix):]
        return f"{head}/{n}"


def read_from(fs: FileSystem, path: str, offset: int) -> bytes:
    with fs.open(path) as f:
        if offset:
            f.seek(offset)
        return f.read()


def decode_file(fs: FileSystem, info: FileInfo, keys: bool) -> list[bytes]:
    d = AutoDecoder(_name(info.path), keys)
    return d.feed(read_from(fs, info.path, 0)) + d.finish()


# ------------------------------------------------------------------------------------------------- commands


def _open(url: str, args: argparse.Namespace) -> tuple[FileSystem, str]:
    options = {}
    if getattr(args, "webhdfs", None):
        options["webhdfs"] = args.webhdfs
    if getattr(args, "user", None):
        options["user"] = args.user
    try:
        return filesystem_for(url, **options)
    except (ValueError, ImportError) as e:
        raise FlumeError(str(e)) from None


def _write(out: BinaryIO, lines: Iterable[bytes]) -> None:
    for line in lines:
        out.write(line + b"\n")


def cmd_ls(args: argparse.Namespace, out: BinaryIO) -> int:
    naming = Naming(args.in_use_prefix, args.in_use_suffix)
    for url in args.urls:
        fs, path = _open(url, args)
        infos = walk(fs, path, True) if args.recursive else fs.list(path)
        for i in sorted(infos, key=lambda i: _natural(i.path)):
            when = datetime.fromtimestamp(i.mtime).strftime("%Y-%m-%d %H:%M:%S")
            mark = "  (in use)" if not i.is_dir and naming.in_use(i.path) else ""
            out.write(f"{'d' if i.is_dir else '-'} {i.size:>12} {when} {fs.url(i.path)}{mark}\n".encode())
    return 0


def cmd_cat(args: argparse.Namespace, out: BinaryIO) -> int:
    for url in args.urls:
        fs, path = _open(url, args)
        for info in walk(fs, path, args.recursive):
            _write(out, decode_file(fs, info, args.keys))
            out.flush()
    return 0


@dataclass
class _Followed:
    path: str
    decoder: AutoDecoder
    offset: int = 0
    lines: list[bytes] = field(default_factory=list)


def cmd_tail(args: argparse.Namespace, out: BinaryIO, polls: int | None = None) -> int:
    """Last ``-n`` lines of the newest file; with ``-f`` keep printing what is appended and new files."""
    fs, path = _open(args.url, args)
    naming = Naming(args.in_use_prefix, args.in_use_suffix)
    files = walk(fs, path, args.recursive)
    if not files and not args.follow:
        return 0
    followed: dict[str, _Followed] = {}
    done: set[str] = set()
    newest = max(files, key=lambda i: (i.mtime, _natural(i.path))) if files else None
    for info in files:
        key = naming.final_key(info.path)
        if info is newest or naming.in_use(info.path):
            st = _Followed(info.path, AutoDecoder(_name(info.path), args.keys))
            lines = _advance(fs, st, naming, info)
            if info is newest:
                _write(out, lines[-args.lines:] if args.lines > 0 else [])
            if naming.in_use(info.path) and args.follow:
                followed[key] = st
            else:
                done.add(key)
        else:
            done.add(key)
    out.flush()
    if not args.follow:
        return 0
    n = 0
    while polls is None or n < polls:
        n += 1
        time.sleep(args.interval)
        try:
            files = walk(fs, path, args.recursive)
        except FileNotFoundError:
            continue
        for info in files:
            key = naming.final_key(info.path)
            if key in done:
                continue
            st = followed.setdefault(key, _Followed(info.path, AutoDecoder(_name(info.path), args.keys)))
            try:
                lines = _advance(fs, st, naming, info)
            except FileNotFoundError:  # renamed between listing and reading: next poll
                continue
            _write(out, lines)
            if not naming.in_use(info.path):
                done.add(key)
                del followed[key]
        out.flush()
    return 0


def _advance(fs: FileSystem, st: _Followed, naming: Naming, info: FileInfo) -> list[bytes]:
    """New lines of a followed file (``info`` is its latest listing, maybe under its final name)."""
    st.path = info.path
    lines: list[bytes] = []
    if naming.in_use(info.path) or info.size > st.offset:
        data = read_from(fs, info.path, st.offset)
        st.offset += len(data)
        lines = st.decoder.feed(data)
    if not naming.in_use(info.path):
        lines += st.decoder.finish()
    return lines


# --------------------------------------------------------------------------------------------------- parser


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    h = sub.add_parser("hdfs", help="list, print and follow files the HDFS sink wrote (any backend)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    hs = h.add_subparsers(dest="hdfs_command", required=True, metavar="{ls,cat,tail}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-R", "--recursive", action="store_true", help="include subdirectories")
        p.add_argument("--webhdfs", metavar="HOST:PORT",
                       help="NameNode HTTP address, to read hdfs:// files still open for write")
        p.add_argument("--user", help="HDFS user for webhdfs:// (default $HADOOP_USER_NAME or login)")
        p.add_argument("--in-use-prefix", default="", help="the sink's hdfs.inUsePrefix (default none)")
        p.add_argument("--in-use-suffix", default=".tmp", help="the sink's hdfs.inUseSuffix (default .tmp)")

    p = hs.add_parser("ls", help="list files with size and time; in-use files are marked")
    p.add_argument("urls", nargs="+", metavar="URL")
    common(p)
    p.set_defaults(func=lambda a: _run(cmd_ls, a))

    p = hs.add_parser("cat", help="print files (a directory: all its files) decoded into lines")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("-k", "--keys", action="store_true",
                   help="prefix each line with its SequenceFile key / event headers and a tab")
    common(p)
    p.set_defaults(func=lambda a: _run(cmd_cat, a))

    p = hs.add_parser("tail", help="the last lines of the newest file; -f follows new data and new files")
    p.add_argument("url", metavar="URL")
    p.add_argument("-n", "--lines", type=int, default=10, help="lines of the newest file to print first (10)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing as files grow and roll")
    p.add_argument("-s", "--interval", type=float, default=1.0, help="seconds between polls with -f (1)")
    p.add_argument("-k", "--keys", action="store_true",
                   help="prefix each line with its SequenceFile key / event headers and a tab")
    common(p)
    p.set_defaults(func=lambda a: _run(cmd_tail, a))


def _run(cmd: Callable[[argparse.Namespace, BinaryIO], int], args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    try:
        return cmd(args, out)
    except FileNotFoundError as e:
        raise FlumeError(f"no such file or directory: {e.filename or e}") from None
    except BrokenPipeError:  # `| head`
        return 0
    except OSError as e:
        raise FlumeError(str(e)) from None
