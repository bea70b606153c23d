"""Wire format: bytes checked against the Avro spec / Java avro-ipc, and a fuzzed frame decoder."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flumepy.avro import protocol as p
from flumepy.avro.framing import FrameDecoder, FramingError, encode_frame
from flumepy.core.event import Event


def test_protocol_hash_is_flumes() -> None:
    assert p.PROTOCOL_MD5.hex() == "86aadae2c45474c0fe93ffd0f2350a65"


def test_event_encoding_matches_flume_binary() -> None:
    assert p.encode_event(Event(b"hi")) == bytes.fromhex("00 04 68 69")
    assert p.encode_event(Event(b"", {"a": "b"})) == bytes.fromhex("02 02 61 02 62 00 00")


def test_first_request_carries_the_handshake_a_flume_client_sends() -> None:
    req = p.encode_call("appendBatch", p.encode_events([Event(b"hi")]), p.handshake_request())
    md5 = p.PROTOCOL_MD5
    # clientHash, clientProtocol null (union 0), serverHash, meta = empty map (union 1, 0),
    # call meta {} , "appendBatch", array of 1 event, end of array
    assert req == (md5 + b"\x00" + md5 + b"\x02\x00" + b"\x00" + b"\x16appendBatch"
                   + b"\x02" + bytes.fromhex("00 04 68 69") + b"\x00")


def test_responses() -> None:
    assert p.encode_response("OK") == b"\x00\x00\x00"  # meta {}, no error, Status index 0
    assert p.encode_response("FAILED") == b"\x00\x00\x02"
    assert p.encode_response(error="boom") == b"\x00\x01\x00\x08boom"  # error union ["string"] index 0
    both = p.encode_response("OK", handshake={"match": "BOTH", "serverProtocol": None, "serverHash": None,
                                              "meta": None})
    assert both == b"\x00\x00\x00\x00" + b"\x00\x00\x00"  # match BOTH, null, null, null


def test_frame_layout() -> None:
    assert encode_frame(7, b"abc") == struct.pack(">ii", 7, 1) + struct.pack(">i", 3) + b"abc"
    big = encode_frame(1, b"x" * 20000)
    assert struct.unpack_from(">ii", big) == (1, 3)  # 8 KiB buffers, as Java's ByteBufferOutputStream


def test_decoder_reassembles_split_input() -> None:
    data = encode_frame(1, b"a" * 9000) + encode_frame(2, b"b")
    d = FrameDecoder()
    out = []
    for i in range(0, len(data), 7):
        out += d.feed(data[i:i + 7])
    assert out == [(1, b"a" * 9000), (2, b"b")]
    assert d.pending == 0


@pytest.mark.parametrize("data,reason", [
    (struct.pack(">ii", 1, 0), "buffer count 0"),
    (struct.pack(">ii", 1, -5), "buffer count -5"),
    (struct.pack(">ii", 1, 1) + struct.pack(">i", -1), "negative buffer length"),
    (struct.pack(">ii", 1, 1) + struct.pack(">i", 0x7FFFFFFF), "frame too large"),
    (struct.pack(">ii", 1, 0x7FFFFFFF), "frame too large"),
])
def test_decoder_rejects_bad_headers_before_buffering(data: bytes, reason: str) -> None:
    with pytest.raises(FramingError, match=reason):
        FrameDecoder(max_message=1 << 20, max_buffers=1000).feed(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096), st.integers(min_value=1, max_value=64))
def test_fuzz_garbage_only_ever_raises_framing_error_and_stays_bounded(data: bytes, step: int) -> None:
    d = FrameDecoder(max_message=1024, max_buffers=16)
    try:
        for i in range(0, len(data), step):
            for _serial, msg in d.feed(data[i:i + step]):
                assert len(msg) <= 1024
            assert d.pending <= 1024 + 16 * 4 + 8 + step
    except FramingError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-2**31, 2**31 - 1), st.binary(max_size=3000)), max_size=5),
       st.integers(min_value=1, max_value=5000))
def test_fuzz_valid_frames_round_trip_in_any_chunking(frames: list[tuple[int, bytes]], step: int) -> None:
    data = b"".join(encode_frame(s, m, chunk=1000) for s, m in frames)
    d = FrameDecoder()
    out = []
    for i in range(0, len(data), step):
        out += d.feed(data[i:i + step])
    assert out == frames


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_request_decoding_only_raises_protocol_error(data: bytes) -> None:
    fo = io.BytesIO(data)
    try:
        p.read(fo, p.HANDSHAKE_REQUEST_SCHEMA)
        p.read(fo, p.META_SCHEMA)
        p.read(fo, p.STRING_SCHEMA)
        p.read(fo, p.BATCH_SCHEMA)
    except p.ProtocolError:
        pass


# -- the batch encoder/decoder written here agree with fastavro byte for byte --------------------------

events_st = st.lists(st.builds(
    Event, st.binary(max_size=5000),
    st.dictionaries(st.text(max_size=8), st.text(max_size=70), max_size=3)), max_size=20)


@settings(max_examples=150, deadline=None)
@given(events_st)
def test_fuzz_batch_encoding_equals_fastavro_and_decodes_back(events: list[Event]) -> None:
    fo = io.BytesIO()
    p.write(fo, p.BATCH_SCHEMA, p.to_avro(events))
    assert p.encode_events(events) == fo.getvalue()
    prefix = b"\x07junk"
    decoded, end = p.decode_events(prefix + fo.getvalue() + b"tail", len(prefix))
    assert decoded == events and end == len(prefix) + len(fo.getvalue())


def test_batch_decoding_reads_blocks_with_byte_counts_and_reports_bad_input() -> None:
    # Two blocks, the first with a negative count and its byte size (as other Avro writers may send).
    one = p.encode_event(Event(b"a", {"k": "v"}))
    two = p.encode_event(Event(b"b"))
    data = p._long(-1) + p._long(len(one)) + one + p._long(1) + two + b"\x00"
    events, end = p.decode_events(data, 0)
    assert events == [Event(b"a", {"k": "v"}), Event(b"b")] and end == len(data)
    with pytest.raises(p.ProtocolError, match="cannot decode"):
        p.decode_events(p._long(2) + two, 0)  # the second event is missing
    with pytest.raises(p.ProtocolError, match="cannot decode"):
        p.decode_events(b"\x02\x02\x02\xff\x02v\x00\x00\x00", 0)  # a header name that is not UTF-8


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_batch_decoding_agrees_with_fastavro_on_any_bytes(data: bytes) -> None:
    fo = io.BytesIO(data)
    try:
        want = (p.from_avro(p.read(fo, p.BATCH_SCHEMA)), fo.tell())
    except p.ProtocolError:
        with pytest.raises(p.ProtocolError):
            p.decode_events(data, 0)
        return
    assert p.decode_events(data, 0) == want
