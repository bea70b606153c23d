import io
import json

import fastavro
import pytest

from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.serializers.avro_event import AvroEventSerializer


def make(values: dict[str, str] | None = None) -> AvroEventSerializer:
    s = AvroEventSerializer("k1.serializer")
    s.configure(Context(values or {}, prefix="a1.sinks.k1.sink.serializer."))
    return s


EVENTS = [Event(b"hello", {"host": "web1", "n": "1"}), Event(b""), Event(bytes(range(256)), {"k": "\u00e9"})]


def read_back(data: bytes) -> tuple[list[dict], dict]:
    r = fastavro.reader(io.BytesIO(data))
    return list(r), r.metadata


@pytest.mark.parametrize("codec", ["null", "deflate", "bzip2", "xz"])
def test_container_file_round_trips(codec: str) -> None:
    out = io.BytesIO()
    w = make({"compressionCodec": codec}).open(out)
    w.write_batch(EVENTS[:2])
    w.flush()
    w.write_batch(EVENTS[2:])
    w.close()
    data = out.getvalue()
    assert data[:4] == b"Obj\x01"
    records, meta = read_back(data)
    assert records == [{"headers": e.headers, "body": e.body} for e in EVENTS]
    assert meta["avro.codec"] == codec
    schema = json.loads(meta["avro.schema"])
    # Flume's FlumeEventAvroEventSerializer schema: record Event, headers map<string>, body bytes.
    assert schema == {"type": "record", "name": "Event", "fields": [
        {"name": "headers", "type": {"type": "map", "values": "string"}},
        {"name": "body", "type": "bytes"}]}


def test_header_written_at_open_so_an_empty_file_is_valid() -> None:
    out = io.BytesIO()
    make().open(out).close()
    records, meta = read_back(out.getvalue())
    assert records == []
    assert meta["avro.codec"] == "null"


def test_each_flush_ends_a_block() -> None:
    out = io.BytesIO()
    w = make().open(out)
    w.write_batch([Event(b"a")])
    w.flush()
    after_first = len(out.getvalue())
    w.write_batch([Event(b"b")])
    w.flush()
    assert len(out.getvalue()) > after_first
    blocks = list(fastavro.block_reader(io.BytesIO(out.getvalue())))
    assert [b.num_records for b in blocks] == [1, 1]


def test_sync_interval_splits_blocks() -> None:
    out = io.BytesIO()
    w = make({"syncIntervalBytes": "100"}).open(out)
    w.write_batch([Event(b"x" * 60) for _ in range(10)])
    w.close()
    blocks = list(fastavro.block_reader(io.BytesIO(out.getvalue())))
    assert len(blocks) >= 5
    assert sum(b.num_records for b in blocks) == 10


def test_unknown_codec_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as e:
        make({"compressionCodec": "gzipp"})
    assert "a1.sinks.k1.sink.serializer.compressionCodec" in str(e.value)


def test_does_not_support_reopen() -> None:
    s = make()
    assert s.supports_reopen() is False
    with pytest.raises(NotImplementedError):
        s.open(io.BytesIO(), reopen=True)
