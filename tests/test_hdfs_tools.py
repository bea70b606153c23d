"""``flumepy hdfs ls|cat|tail [-f]`` through the CLI, on local directories and on a real HDFS."""

from __future__ import annotations

import bz2
import gzip
import io
import os
import subprocess
import sys
import threading
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flumepy.formats.codecs import codec_for
from flumepy.formats.sequencefile import TEXT, SequenceFileWriter
from flumepy.fs import filesystem_for
from tests.fixtures.hdfs import SharedCluster
from tests.util import run_cli, wait_until


def seqfile(records: list[tuple[int, bytes]], codec: str | None = None, value_class: str = TEXT) -> bytes:
    w = SequenceFileWriter(value_class, codec_for(codec) if codec else None)
    w.append_many(records)
    w.close()
    return w.take()


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    r = run_cli("hdfs", *args, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


class Follower:
    """``flumepy hdfs tail -f`` as a child process, its output collected."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "flumepy", "hdfs", "tail", "-f", "-s", "0.2", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self._out = bytearray()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._out += line

    @property
    def lines(self) -> list[str]:
        return bytes(self._out).decode().splitlines()

    def wait_lines(self, expected: list[str], timeout: float = 20) -> None:
        def check() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"tail exited {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            return self.lines == expected
        try:
            wait_until(check, timeout, what=f"tail -f output {expected}")
        except AssertionError as e:
            raise AssertionError(f"{e}\ngot: {self.lines}") from None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def follower() -> Iterator[type[Follower]]:
    started: list[Follower] = []

    class _Tracked(Follower):
        def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
            super().__init__(*args, env=env)
            started.append(self)

    yield _Tracked
    for f in started:
        if f.proc.poll() is None:
            f.proc.kill()
            f.proc.wait()


# ----------------------------------------------------------------------------------------------- local dirs


def test_cat_decodes_every_file_type_in_name_order(tmp_path: Path) -> None:
    d = tmp_path / "flumedata"
    d.mkdir()
    (d / "FlumeData.1").write_bytes(b"plain 1\nplain 2\n")
    (d / "FlumeData.2.gz").write_bytes(gzip.compress(b"gz 1\n") + gzip.compress(b"gz 2\n"))  # two members
    (d / "FlumeData.3.bz2").write_bytes(bz2.compress(b"bz 1\nbz 2\n"))
    (d / "FlumeData.4.deflate").write_bytes(zlib.compress(b"deflate 1\n"))
    (d / "FlumeData.5").write_bytes(seqfile([(1, b"seq 1"), (2, b"seq 2")]))
    (d / "FlumeData.6").write_bytes(seqfile([(3, b"seq block 1"), (4, b"seq block 2")], "gzip"))
    table = pa.table({"headers": pa.array([[("h", "1")], [("h", "2")]], pa.map_(pa.string(), pa.string())),
                      "body": pa.array([b"parquet 1", b"parquet 2"], pa.binary())})
    pq.write_table(table, d / "FlumeData.7.parquet")
    buf = io.BytesIO()
    schema = {"type": "record", "name": "Event", "fields": [
        {"name": "headers", "type": {"type": "map", "values": "string"}}, {"name": "body", "type": "bytes"}]}
    fastavro.writer(buf, schema, [{"headers": {"h": "a"}, "body": b"avro 1"}])
    (d / "FlumeData.8.avro").write_bytes(buf.getvalue())
    (d / "FlumeData.9.tmp").write_bytes(b"in progress 1\npartial")
    (d / "FlumeData.10").write_bytes(b"ten\n")  # natural order: after 9
    out = ok("cat", str(d))
    assert out.splitlines() == [
        "plain 1", "plain 2", "gz 1", "gz 2", "bz 1", "bz 2", "deflate 1", "seq 1", "seq 2", "seq block 1",
        "seq block 2", "parquet 1", "parquet 2", "avro 1", "in progress 1", "partial", "ten"]
    keyed = ok("cat", "--keys", str(d / "FlumeData.5"), str(d / "FlumeData.7.parquet"), f"file://{d}/FlumeData.8.avro")
    assert keyed.splitlines() == ["1\tseq 1", "2\tseq 2", '{"h": "1"}\tparquet 1', '{"h": "2"}\tparquet 2',
                                  '{"h": "a"}\tavro 1']


def test_ls_marks_in_use_files_and_recurses(tmp_path: Path) -> None:
    (tmp_path / "2024" / "01").mkdir(parents=True)
    (tmp_path / "2024" / "01" / "FlumeData.1").write_bytes(b"12345")
    (tmp_path / "2024" / "01" / "_FlumeData.2.tmp").write_bytes(b"1")
    out = ok("ls", str(tmp_path)).splitlines()
    assert len(out) == 1 and out[0].startswith("d ") and out[0].endswith(f"file://{tmp_path}/2024")
    out = ok("ls", "-R", "--in-use-prefix", "_", str(tmp_path)).splitlines()
    assert [line.split()[1] for line in out] == ["5", "1"]
    assert out[0].endswith("/2024/01/FlumeData.1")
    assert out[1].endswith("/2024/01/_FlumeData.2.tmp  (in use)")
    assert ok("cat", "-R", str(tmp_path)).splitlines() == ["12345", "1"]


def test_tail_prints_the_last_lines_of_the_newest_file(tmp_path: Path) -> None:
    (tmp_path / "FlumeData.1").write_text("old\n")
    newest = tmp_path / "FlumeData.2.tmp"
    newest.write_bytes(seqfile([(i, b"line %d" % i) for i in range(30)]))
    os.utime(tmp_path / "FlumeData.1", (1_600_000_000, 1_600_000_000))
    assert ok("tail", str(tmp_path)).splitlines() == [f"line {i}" for i in range(20, 30)]
    assert ok("tail", "-n", "2", str(tmp_path)).splitlines() == ["line 28", "line 29"]
    assert ok("tail", "-n", "1", str(tmp_path / "FlumeData.1")).splitlines() == ["old"]


def test_missing_path_and_bad_scheme_are_clear_errors(tmp_path: Path) -> None:
    r = run_cli("hdfs", "cat", str(tmp_path / "nope"))
    assert r.returncode == 1 and "no such file or directory" in r.stderr and "nope" in r.stderr
    r = run_cli("hdfs", "ls", "s3://bucket/x")
    assert r.returncode == 1 and "unsupported filesystem scheme 's3'" in r.stderr
    (tmp_path / "FlumeData.1.snappy").write_bytes(b"\x00" * 40)
    r = run_cli("hdfs", "cat", str(tmp_path))
    assert r.returncode == 1 and "snappy" in r.stderr


def test_tail_follow_across_roll_and_new_files(tmp_path: Path, follower: type[Follower]) -> None:
    (tmp_path / "FlumeData.1").write_text("closed before\n")
    os.utime(tmp_path / "FlumeData.1", (1_600_000_000, 1_600_000_000))
    cur = tmp_path / "FlumeData.2.tmp"
    cur.write_text("a\n")
    f = follower("-n", "5", str(tmp_path))
    f.wait_lines(["a"])
    with open(cur, "a") as out:
        out.write("b\npart")
    f.wait_lines(["a", "b"])
    with open(cur, "a") as out:
        out.write("ial\nc\n")
    os.rename(cur, tmp_path / "FlumeData.2")  # the sink closes and renames it
    nxt = tmp_path / "FlumeData.3.tmp"
    nxt.write_text("d\n")
    f.wait_lines(["a", "b", "partial", "c", "d"])
    (tmp_path / "sub").mkdir()  # directories are not files to follow
    with open(nxt, "a") as out:
        out.write("e\n")
    f.wait_lines(["a", "b", "partial", "c", "d", "e"])
    f.stop()


def test_tail_follow_sequencefile_growing_in_blocks(tmp_path: Path, follower: type[Follower]) -> None:
    w = SequenceFileWriter(TEXT, codec_for("bzip2"))
    cur = tmp_path / "FlumeData.1.tmp"
    f = follower(str(tmp_path))
    with open(cur, "wb") as out:
        w.append_many([(1, b"one"), (2, b"two")])
        w.sync()
        out.write(w.take())
        out.flush()
        f.wait_lines(["one", "two"])
        w.append(3, b"three")
        w.sync()
        out.write(w.take())
    f.wait_lines(["one", "two", "three"])
    f.stop()


# ------------------------------------------------------------------------------------------------ real HDFS


@pytest.fixture
def hdfs_dir(hdfs_cluster: SharedCluster) -> Iterator[str]:
    path = f"/tools-tests/{uuid.uuid4().hex}"
    yield path
    fs, _ = filesystem_for(hdfs_cluster.namenode_url)
    fs.delete(path, recursive=True)


def test_cat_and_tail_on_hdfs_including_a_file_still_open(hdfs_cluster: SharedCluster, hdfs_dir: str) -> None:
    fs, _ = filesystem_for(hdfs_cluster.namenode_url)
    with fs.create(f"{hdfs_dir}/FlumeData.1") as out:
        out.write(seqfile([(1700000000000, b"hello hdfs"), (1700000000001, b"second")]))
    with fs.create(f"{hdfs_dir}/FlumeData.2.gz") as out:
        out.write(gzip.compress(b"gz on hdfs\n"))
    open_file = fs.create(f"{hdfs_dir}/FlumeData.3.tmp")
    open_file.write(b"in progress\n")
    open_file.sync()
    try:
        env = {**os.environ, "HADOOP_CONF_DIR": str(hdfs_cluster.conf_dir)}  # where WebHDFS is, as Hadoop finds it
        expected = ["hello hdfs", "second", "gz on hdfs", "in progress"]
        assert ok("cat", hdfs_cluster.namenode_url + hdfs_dir, env=env).splitlines() == expected
        assert ok("cat", hdfs_cluster.webhdfs_url + hdfs_dir).splitlines() == expected
        assert ok("tail", "-n", "1", "--webhdfs", f"127.0.0.1:{hdfs_cluster.http_port}",
                  hdfs_cluster.namenode_url + hdfs_dir).splitlines() == ["in progress"]
        listing = ok("ls", hdfs_cluster.namenode_url + hdfs_dir).splitlines()
        assert listing[0].endswith(f" {hdfs_cluster.namenode_url}{hdfs_dir}/FlumeData.1")
        assert listing[1].endswith(f" {hdfs_cluster.namenode_url}{hdfs_dir}/FlumeData.2.gz")
        assert listing[2].endswith(f" {hdfs_cluster.namenode_url}{hdfs_dir}/FlumeData.3.tmp  (in use)")
        assert len(listing) == 3
        # the keys are what Hadoop's own `hdfs dfs -text` shows for this Text-valued SequenceFile
        keyed = ok("cat", "--keys", f"{hdfs_cluster.namenode_url}{hdfs_dir}/FlumeData.1")
        assert keyed == hdfs_cluster.fs_shell("-text", f"{hdfs_dir}/FlumeData.1").stdout.decode()
    finally:
        open_file.close()


def test_tail_follow_on_hdfs_while_a_writer_syncs_and_rolls(hdfs_cluster: SharedCluster, hdfs_dir: str,
                                                            follower: type[Follower]) -> None:
    fs, _ = filesystem_for(hdfs_cluster.namenode_url)
    out = fs.create(f"{hdfs_dir}/FlumeData.1.tmp")
    out.write(b"first\n")
    out.sync()
    f = follower("--webhdfs", f"127.0.0.1:{hdfs_cluster.http_port}", hdfs_cluster.namenode_url + hdfs_dir)
    f.wait_lines(["first"])
    out.write(b"second\n")
    out.sync()
    f.wait_lines(["first", "second"])
    out.write(b"third\n")
    out.close()
    fs.rename(f"{hdfs_dir}/FlumeData.1.tmp", f"{hdfs_dir}/FlumeData.1")
    with fs.create(f"{hdfs_dir}/FlumeData.2.tmp") as nxt:
        nxt.write(b"fourth\n")
    f.wait_lines(["first", "second", "third", "fourth"])
    f.stop()
