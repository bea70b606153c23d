"""One suite for every filesystem backend: local paths, hdfs:// (hdfs-native) and webhdfs:// on a real HDFS."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.fs import FileSystem, filesystem_for
from tests.fixtures.hdfs import SharedCluster
from tests.util import wait_until


@pytest.fixture(params=["local", "hdfs", "webhdfs"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fs_base(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FileSystem, str]]:
    """(filesystem, an empty directory path inside it) for this test."""
    if kind == "local":
        fs, base = filesystem_for(str(tmp_path / "fsroot"))
        fs.mkdirs(base)
        yield fs, base
        return
    cluster: SharedCluster = request.getfixturevalue("hdfs_cluster")
    root = cluster.namenode_url if kind == "hdfs" else cluster.webhdfs_url
    options = {"webhdfs": f"127.0.0.1:{cluster.http_port}"} if kind == "hdfs" else {}
    fs, base = filesystem_for(f"{root}/fs-tests/{uuid.uuid4().hex}", **options)
    fs.mkdirs(base)
    yield fs, base
    fs.delete(base, recursive=True)
    fs.close()


def read(fs: FileSystem, path: str) -> bytes:
    with fs.open(path) as f:
        return f.read()


def test_create_write_sync_then_visible_to_a_reader_while_open(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    path = f"{base}/FlumeData.1.tmp"
    out = fs.create(path)
    assert out.write(b"line 1\n") == 7
    out.sync()
    assert read(fs, path) == b"line 1\n"
    out.write(b"line 2\n")
    out.sync()
    assert out.tell() == 14
    assert read(fs, path) == b"line 1\nline 2\n"
    assert fs.status(path).size == 14
    out.close()
    assert read(fs, path) == b"line 1\nline 2\n"


def test_large_write_and_partial_reads(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    data = bytes(range(256)) * 40_000  # ~10 MB, crosses read chunks
    with fs.create(f"{base}/big") as out:
        for i in range(0, len(data), 1_000_000):
            out.write(data[i:i + 1_000_000])
        out.sync()
    with fs.open(f"{base}/big") as f:
        assert f.read(10) == data[:10]
        f.seek(5_000_000)
        assert f.read(3) == data[5_000_000:5_000_003]
        assert f.read() == data[5_000_003:]
    assert fs.status(f"{base}/big").size == len(data)


def test_create_refuses_an_existing_file_unless_overwrite(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    with fs.create(f"{base}/a") as out:
        out.write(b"first")
    with pytest.raises(FileExistsError):
        fs.create(f"{base}/a")
    with fs.create(f"{base}/a", overwrite=True) as out:
        out.write(b"second")
    assert read(fs, f"{base}/a") == b"second"


def test_create_makes_missing_parents(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    with fs.create(f"{base}/2024/01/02/x") as out:
        out.write(b"x")
    assert fs.status(f"{base}/2024/01").is_dir
    assert read(fs, f"{base}/2024/01/02/x") == b"x"


def test_append(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    with fs.create(f"{base}/a") as out:
        out.write(b"abc")
    with fs.append(f"{base}/a") as out:
        assert out.tell() == 3
        out.write(b"def")
        out.sync()
        assert read(fs, f"{base}/a") == b"abcdef"
    assert read(fs, f"{base}/a") == b"abcdef"


def test_rename_and_refusal_when_target_exists(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    for name in ("a.tmp", "b"):
        with fs.create(f"{base}/{name}") as out:
            out.write(name.encode())
    fs.rename(f"{base}/a.tmp", f"{base}/a")
    assert not fs.exists(f"{base}/a.tmp")
    assert read(fs, f"{base}/a") == b"a.tmp"
    with pytest.raises(FileExistsError, match="exists"):
        fs.rename(f"{base}/a", f"{base}/b")
    assert read(fs, f"{base}/a") == b"a.tmp"
    assert read(fs, f"{base}/b") == b"b"
    fs.mkdirs(f"{base}/dir")
    with pytest.raises(FileExistsError):
        fs.rename(f"{base}/a", f"{base}/dir")
    assert [i.path for i in fs.list(f"{base}/dir")] == []


def test_list_and_status(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    for name, body in (("b.txt", b"bb"), ("a.txt", b"a")):
        with fs.create(f"{base}/{name}") as out:
            out.write(body)
    fs.mkdirs(f"{base}/sub")
    infos = fs.list(base)
    assert [(i.path, i.is_dir) for i in infos] == [(f"{base}/a.txt", False), (f"{base}/b.txt", False),
                                                   (f"{base}/sub", True)]
    assert [i.size for i in infos[:2]] == [1, 2]
    assert all(i.mtime > 1_600_000_000 for i in infos)
    assert [i.path for i in fs.list(f"{base}/a.txt")] == [f"{base}/a.txt"]
    st = fs.status(f"{base}/b.txt")
    assert (st.size, st.is_dir) == (2, False)
    assert fs.status(base).is_dir
    assert fs.exists(f"{base}/a.txt") and not fs.exists(f"{base}/nope")
    with pytest.raises(FileNotFoundError):
        fs.status(f"{base}/nope")
    with pytest.raises(FileNotFoundError):
        fs.list(f"{base}/nope")
    with pytest.raises(FileNotFoundError):
        fs.open(f"{base}/nope")


def test_delete(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    with fs.create(f"{base}/d/f") as out:
        out.write(b"x")
    with pytest.raises(OSError):
        fs.delete(f"{base}/d")  # not empty
    assert fs.exists(f"{base}/d/f")
    fs.delete(f"{base}/d/f")
    assert not fs.exists(f"{base}/d/f")
    fs.delete(f"{base}/d")
    assert not fs.exists(f"{base}/d")
    with fs.create(f"{base}/e/f/g") as out:
        out.write(b"x")
    fs.delete(f"{base}/e", recursive=True)
    assert not fs.exists(f"{base}/e")
    fs.delete(f"{base}/never-existed")  # no error


def test_reader_sees_data_synced_after_it_opened(fs_base: tuple[FileSystem, str]) -> None:
    """What `flumepy hdfs tail -f` relies on: a file still open for write, read as it grows."""
    fs, base = fs_base
    path = f"{base}/growing.tmp"
    out = fs.create(path)
    out.write(b"a" * 100)
    out.sync()
    f = fs.open(path)
    assert f.read() == b"a" * 100
    out.write(b"b" * 50)
    out.sync()
    again = fs.open(path)
    again.seek(100)
    assert again.read() == b"b" * 50
    out.close()
    f.close()
    again.close()


def test_recover_lease_of_a_closed_file_is_immediate(fs_base: tuple[FileSystem, str]) -> None:
    fs, base = fs_base
    with fs.create(f"{base}/closed") as out:
        out.write(b"x")
    assert fs.recover_lease(f"{base}/closed") is True
    assert read(fs, f"{base}/closed") == b"x"


def test_url_names_the_scheme(fs_base: tuple[FileSystem, str], kind: str) -> None:
    fs, base = fs_base
    assert fs.url(f"{base}/x").startswith({"local": "file://", "hdfs": "hdfs://", "webhdfs": "webhdfs://"}[kind])
    assert fs.url(f"{base}/x").endswith(f"{base}/x")


# ------------------------------------------------------------------------------------- hdfs:// specifics


def test_hdfs_file_left_open_by_a_killed_writer_is_recovered(hdfs_cluster: SharedCluster) -> None:
    path = f"/fs-tests/{uuid.uuid4().hex}/FlumeData.1.tmp"
    writer = textwrap.dedent(f"""
        import os, sys, hdfs_native
        w = hdfs_native.Client({hdfs_cluster.namenode_url!r}).create({path!r},
                                                                    hdfs_native.WriteOptions(create_parent=True))
        w.write(b"synced line\\n"); w.hsync()
        print("written", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", writer], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"written\n"
        proc.kill()
        proc.wait()
    finally:
        proc.kill()
    fs, p = filesystem_for(hdfs_cluster.namenode_url + path)
    with pytest.raises(OSError, match="lease|already"):
        fs.append(p)  # the dead writer still holds the lease
    wait_until(lambda: fs.recover_lease(p), timeout=30, interval=0.5, what="lease recovery")
    assert read(fs, p) == b"synced line\n"
    fs.rename(p, p[:-4])
    # Hadoop's own reader agrees
    assert hdfs_cluster.fs_shell("-cat", p[:-4]).stdout == b"synced line\n"


def test_hdfs_open_file_found_through_hadoop_conf_dir(hdfs_cluster: SharedCluster,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a webhdfs option, the NameNode's HTTP address comes from $HADOOP_CONF_DIR/hdfs-site.xml."""
    monkeypatch.setenv("HADOOP_CONF_DIR", str(hdfs_cluster.conf_dir))
    fs, base = filesystem_for(f"{hdfs_cluster.namenode_url}/fs-tests/{uuid.uuid4().hex}")
    out = fs.create(f"{base}/open.tmp")
    out.write(b"visible\n")
    out.sync()
    assert read(fs, f"{base}/open.tmp") == b"visible\n"
    out.close()
    fs.delete(base, recursive=True)


def test_hdfs_flush_alone_is_not_visible_but_sync_is(hdfs_cluster: SharedCluster) -> None:
    fs, base = filesystem_for(f"{hdfs_cluster.namenode_url}/fs-tests/{uuid.uuid4().hex}",
                              webhdfs=f"127.0.0.1:{hdfs_cluster.http_port}")
    out = fs.create(f"{base}/f.tmp")
    out.write(b"x" * 10)
    out.flush()
    assert fs.status(f"{base}/f.tmp").size == 0
    out.sync()
    assert fs.status(f"{base}/f.tmp").size == 10
    assert hdfs_cluster.fs_shell("-cat", f"{base}/f.tmp").stdout == b"x" * 10
    out.close()
    fs.delete(base, recursive=True)


def test_written_files_are_readable_by_hadoops_shell(hdfs_cluster: SharedCluster) -> None:
    sub = f"/fs-tests/{uuid.uuid4().hex}"
    native, base = filesystem_for(hdfs_cluster.namenode_url + sub)
    web, _ = filesystem_for(hdfs_cluster.webhdfs_url + sub)
    with native.create(f"{base}/native") as out:
        out.write(b"from hdfs-native\n")
    with web.create(f"{base}/web") as out:
        out.write(b"from webhdfs\n")
    listing = hdfs_cluster.fs_shell("-ls", base).stdout.decode()
    assert f"{base}/native" in listing and f"{base}/web" in listing
    assert hdfs_cluster.fs_shell("-cat", f"{base}/native", f"{base}/web").stdout == \
        b"from hdfs-native\nfrom webhdfs\n"


def test_unreachable_namenode_is_a_clear_error() -> None:
    from tests.util import free_port

    fs, base = filesystem_for(f"hdfs://127.0.0.1:{free_port()}/x")
    with pytest.raises(OSError, match="/x: .*refused"):  # after a few quick retries, not hdfs-native's 3 min
        fs.status(base)
    web, base = filesystem_for(f"webhdfs://127.0.0.1:{free_port()}/x")
    with pytest.raises(OSError, match="/x: .*(?i:refused)"):
        web.status(base)


def test_local_files_are_written_o_dsync_so_sync_is_one_flush(tmp_path: Path) -> None:
    import fcntl
    import os

    fs, root = filesystem_for(str(tmp_path))
    for out in (fs.create(f"{root}/a"), fs.append(f"{root}/a")):
        with out:
            fd = out._f.fileno()  # type: ignore[attr-defined]
            assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DSYNC  # each write(2) is on disk when it returns
            out.write(b"x")
            out.sync()
            assert os.path.getsize(f"{root}/a") in (1, 2)  # sync() handed the bytes to the kernel
    assert (tmp_path / "a").read_bytes() == b"xx"
