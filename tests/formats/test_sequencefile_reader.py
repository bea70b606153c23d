"""The SequenceFile reader on files written by Hadoop itself (a small Java program compiled against the
fixture's hadoop-common jar) and by flumepy's writer, fed whole and in small pieces."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from flumepy.formats.codecs import codec_for
from flumepy.formats.sequencefile import BYTES_WRITABLE, TEXT, SequenceFileWriter
from flumepy.formats.sequencefile_reader import SequenceFileError, SequenceFileReader, iter_records, read_vlong
from tests.fixtures.hdfs import cache_dir, provision

JAVA_WRITER = textwrap.dedent("""
    import org.apache.hadoop.conf.Configuration;
    import org.apache.hadoop.fs.Path;
    import org.apache.hadoop.io.*;
    import org.apache.hadoop.io.compress.*;
    import org.apache.hadoop.util.ReflectionUtils;

    /** args: file NONE|RECORD|BLOCK codecClass|- bytes|text count */
    public class WriteSeq {
        public static void main(String[] a) throws Exception {
            Configuration conf = new Configuration();
            SequenceFile.CompressionType type = SequenceFile.CompressionType.valueOf(a[1]);
            boolean text = a[3].equals("text");
            int n = Integer.parseInt(a[4]);
            SequenceFile.Metadata meta = new SequenceFile.Metadata();
            meta.set(new Text("writer"), new Text("hadoop"));
            SequenceFile.Writer.Option[] opts;
            if (a[2].equals("-")) {
                opts = new SequenceFile.Writer.Option[] {SequenceFile.Writer.compression(type)};
            } else {
                CompressionCodec codec = (CompressionCodec) ReflectionUtils.newInstance(Class.forName(a[2]), conf);
                opts = new SequenceFile.Writer.Option[] {SequenceFile.Writer.compression(type, codec)};
            }
            SequenceFile.Writer w = SequenceFile.createWriter(conf,
                SequenceFile.Writer.file(new Path(a[0])), SequenceFile.Writer.keyClass(LongWritable.class),
                SequenceFile.Writer.valueClass(text ? Text.class : BytesWritable.class),
                opts[0], SequenceFile.Writer.metadata(meta));
            for (int i = 0; i < n; i++) {
                byte[] body = ("event " + i + " \\u00e9t\\u00e9").getBytes("UTF-8");
                if (text) w.append(new LongWritable(1700000000000L + i), new Text(body));
                else w.append(new LongWritable(1700000000000L + i), new BytesWritable(body));
            }
            w.close();
        }
    }
""")


@pytest.fixture(scope="module")
def java_writer(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``java -cp ... WriteSeq`` compiled against the fixture's Hadoop 2.7.3 jars (javac from the JDK)."""
    cache = provision()
    d = tmp_path_factory.mktemp("javaseq")
    (d / "WriteSeq.java").write_text(JAVA_WRITER)
    cp = f"{cache / 'lib'}/*"
    subprocess.run(["javac", "-cp", cp, "-d", str(d), str(d / "WriteSeq.java")], check=True, capture_output=True)
    return ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", f"{d}:{cache_dir() / 'lib'}/*",
            "WriteSeq"]


def expected(n: int) -> list[tuple[int, bytes]]:
    return [(1700000000000 + i, f"event {i} \u00e9t\u00e9".encode()) for i in range(n)]


@pytest.mark.parametrize("compression,codec,values", [
    ("NONE", "-", "bytes"),
    ("NONE", "-", "text"),
    ("RECORD", "org.apache.hadoop.io.compress.DefaultCodec", "bytes"),
    ("BLOCK", "org.apache.hadoop.io.compress.DefaultCodec", "text"),
    ("BLOCK", "org.apache.hadoop.io.compress.BZip2Codec", "bytes"),
])
def test_reads_files_written_by_hadoop(java_writer: list[str], tmp_path: Path, compression: str, codec: str,
                                       values: str) -> None:
    path = tmp_path / "seq"
    n = 3000  # several sync markers / blocks
    r = subprocess.run([*java_writer, f"file://{path}", compression, codec, values, str(n)], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    data = path.read_bytes()
    reader = SequenceFileReader()
    records = reader.feed(data)
    reader.finish()
    assert records == expected(n)
    assert reader.header is not None
    assert reader.header.metadata == {"writer": "hadoop"}
    assert reader.header.key_class == "org.apache.hadoop.io.LongWritable"
    assert reader.header.compressed == (compression != "NONE")
    assert reader.header.block_compressed == (compression == "BLOCK")
    # fed in odd-sized pieces, as `tail -f` sees a growing file: same records, none twice
    reader = SequenceFileReader()
    pieces = [reader.feed(data[i:i + 777]) for i in range(0, len(data), 777)]
    assert [rec for p in pieces for rec in p] == expected(n)
    reader.finish()


@pytest.mark.parametrize("compression,codec", [("NONE", None), ("RECORD", "deflate"), ("BLOCK", "gzip"),
                                               ("BLOCK", "bzip2")])
@pytest.mark.parametrize("value_class", [BYTES_WRITABLE, TEXT])
def test_reads_flumepys_writer(compression: str, codec: str | None, value_class: str) -> None:
    w = SequenceFileWriter(value_class, codec_for(codec) if codec else None, compression, block_size=5000)
    records = [(i, b"body %d" % i * (i % 7)) for i in range(2000)]
    chunks = []
    for i in range(0, len(records), 100):
        w.append_many(records[i:i + 100])
        w.sync()
        chunks.append(w.take())
    w.close()
    chunks.append(w.take())
    data = b"".join(chunks)
    assert list(iter_records(data)) == records
    reader = SequenceFileReader()
    got = []
    for i in range(0, len(data), 1000):
        got += reader.feed(data[i:i + 1000])
    reader.finish()
    assert got == records


def test_truncated_file_and_wrong_magic() -> None:
    w = SequenceFileWriter()
    w.append_many([(1, b"one"), (2, b"two")])
    data = w.take()
    reader = SequenceFileReader()
    assert reader.feed(data[:-2]) == [(1, b"one")]
    with pytest.raises(SequenceFileError, match="do not form a complete record"):
        reader.finish()
    assert reader.feed(data[-2:]) == [(2, b"two")]
    reader.finish()
    with pytest.raises(SequenceFileError, match="not a SequenceFile"):
        SequenceFileReader().feed(b"hello world\n")


def test_codec_it_cannot_decode_is_named() -> None:
    header = (b"SEQ\x06" + b"\x21org.apache.hadoop.io.LongWritable" + b"\x22org.apache.hadoop.io.BytesWritable"
              + b"\x01\x01" + b"\x29org.apache.hadoop.io.compress.SnappyCodec" + b"\x00\x00\x00\x00" + b"s" * 16)
    with pytest.raises(SequenceFileError, match="SnappyCodec"):
        SequenceFileReader().feed(header)


def test_vlong_matches_hadoop_encoding() -> None:
    from flumepy.formats.sequencefile import write_vlong

    for v in (0, 1, -1, 127, -112, -113, 128, 255, 256, 65535, -65536, 2**31, -(2**40), 2**62):
        enc = write_vlong(v)
        assert read_vlong(enc, 0) == (v, len(enc))
