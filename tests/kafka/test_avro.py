"""Flume's AvroFlumeEvent binary (useFlumeEventFormat / parseAsFlumeEvent): exact bytes and round trips."""

from __future__ import annotations

import pytest

from flumepy.core.event import Event
from flumepy.kafka import avro


def test_empty_headers_and_body_hi_is_the_reference_encoding() -> None:
    # Flume reference 8.3: headers {} and body "hi" -> 00 04 68 69
    assert avro.encode(Event(b"hi")) == bytes.fromhex("00046869")


def test_headers_are_one_map_block_then_the_body() -> None:
    got = avro.encode(Event(b"hi", {"a": "b"}))
    # block of 1 entry (zigzag 2), "a" (len 1 -> 02, 61), "b" (02, 62), end of map 00, body len 2 (04) "hi"
    assert got == bytes.fromhex("02" "0261" "0262" "00" "04" "6869")


def test_non_ascii_headers_and_binary_bodies_round_trip() -> None:
    ev = Event(bytes(range(256)) * 3, {"hôst": "ÿ€", "k": "", "long": "x" * 300})
    assert avro.decode(avro.encode(ev)) == ev


def test_decoding_bytes_that_are_not_an_event_says_so() -> None:
    with pytest.raises(ValueError, match="not a Flume Avro event"):
        avro.decode(b"plain text value")
    with pytest.raises(ValueError, match="left over"):
        avro.decode(bytes.fromhex("00046869") + b"!")
