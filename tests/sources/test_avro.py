"""avro source: Flume's Avro RPC in, OK after commit; bad clients are cut off alone; ipFilter; TLS."""

from __future__ import annotations

import datetime
import logging
import socket
import struct
import threading
from pathlib import Path

import pytest

from flumepy.avro.client import AvroRpcClient
from flumepy.avro.framing import encode_frame
from flumepy.avro.protocol import encode_call, encode_events, handshake_request
from flumepy.avro.transport import client_context
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError, EventDeliveryError
from flumepy.core.event import Event
from flumepy.sources.avro import AvroSource
from tests.sources.conftest import Wired
from tests.util import wait_until


def started(wire, **settings: str) -> Wired:  # type: ignore[no-untyped-def]
    w: Wired = wire(AvroSource, {"bind": "127.0.0.1", "port": "0", **settings})
    w.source.start()
    return w


def client(w: Wired, **kw: object) -> AvroRpcClient:
    return AvroRpcClient("127.0.0.1", w.source.address[1], **kw)  # type: ignore[arg-type]


def test_batches_arrive_with_headers_and_ok_after_commit(wire) -> None:  # type: ignore[no-untyped-def]
    w = started(wire)
    c = client(w, batch_size=40)
    c.append_batch([Event(b"e%d" % i, {"i": str(i)}) for i in range(100)])
    c.append(Event(b"single", {"h": "\u00e9"}))
    c.close()
    got = w.take()
    assert [e.body for e in got] == [b"e%d" % i for i in range(100)] + [b"single"]
    assert got[7].headers == {"i": "7"} and got[-1].headers == {"h": "\u00e9"}
    v = w.source.counters.values
    assert (v["AppendBatchReceivedCount"], v["AppendBatchAcceptedCount"], v["AppendAcceptedCount"]) == (3, 3, 1)
    assert v["EventAcceptedCount"] == 101


def test_deflate(wire) -> None:  # type: ignore[no-untyped-def]
    w = started(wire, **{"compression-type": "deflate"})
    c = client(w, deflate=True, compression_level=9)
    c.append_batch([Event(b"x" * 1000)] * 50)
    c.close()
    assert len(w.take()) == 50


def test_full_channel_answers_failed_and_keeps_connection(wire) -> None:  # type: ignore[no-untyped-def]
    w: Wired = wire(AvroSource, {"bind": "127.0.0.1", "port": "0"}, capacity=5, transaction_capacity=5)
    w.source.start()
    c = client(w, batch_size=5)
    c.append_batch([Event(b"a")] * 5)
    with pytest.raises(EventDeliveryError, match="Status: FAILED"):
        c.append_batch([Event(b"b")])
    assert len(w.take()) == 5
    c.append_batch([Event(b"c")])  # same connection, room again
    assert [e.body for e in w.take()] == [b"c"]
    assert w.source.counters.values["ChannelWriteFail"] == 1


def _raw(w: Wired) -> socket.socket:
    s = socket.create_connection(w.source.address, timeout=10)
    return s


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("payload,reason", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "frame too large"),  # garbage read as a huge buffer count
    (struct.pack(">ii", 1, 1) + struct.pack(">i", 1 << 30), "frame too large"),  # oversized length prefix
    (struct.pack(">ii", 1, 0), "buffer count 0"),
    (encode_frame(1, b"\x00" * 16 + b"\x09"), "cannot decode"),  # a handshake with a bad union index
])
def test_malformed_frames_close_only_that_connection(wire, caplog, payload: bytes, reason: str  # type: ignore[no-untyped-def]
                                                     ) -> None:
    caplog.set_level(logging.INFO, logger="flumepy.avro.server")
    w = started(wire, **{"max-message-size": "1048576"})
    good = client(w)
    good.append_batch([Event(b"before")])
    bad = _raw(w)
    bad.sendall(payload)
    assert _closed(bad)
    peer = f"127.0.0.1:{bad.getsockname()[1]}"
    wait_until(lambda: any(peer in r.getMessage() and reason in r.getMessage() for r in caplog.records),
               what=f"log naming {peer} and {reason!r}")
    good.append_batch([Event(b"after")])  # the other client keeps flowing
    good.close()
    assert [e.body for e in w.take()] == [b"before", b"after"]
    wait_until(lambda: w.source.server.connection_count() == 0)


def test_truncated_frame_logged_when_client_disconnects(wire, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="flumepy.avro.server")
    w = started(wire)
    frame = encode_frame(1, encode_call("appendBatch", encode_events([Event(b"x")]), handshake_request()))
    s = _raw(w)
    peer = f"127.0.0.1:{s.getsockname()[1]}"
    s.sendall(frame[:-3])
    s.close()
    wait_until(lambda: any(peer in r.getMessage() and "middle of a frame" in r.getMessage()
                           for r in caplog.records), what="truncated-frame log")
    assert w.take() == []


def test_slow_and_stalled_clients_do_not_block_others(wire) -> None:  # type: ignore[no-untyped-def]
    w = started(wire)
    stalled = [_raw(w) for _ in range(20)]
    for s in stalled:
        s.sendall(struct.pack(">ii", 1, 1) + struct.pack(">i", 100) + b"partial")
    threads = []
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            c = client(w, batch_size=50)
            c.append_batch([Event(b"%d-%d" % (n, i)) for i in range(200)])
            c.close()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    for n in range(4):
        threads.append(threading.Thread(target=send, args=(n,)))
        threads[-1].start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(w.take()) == 800
    for s in stalled:
        s.close()


def test_ip_filter_rules(wire, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="flumepy.avro.server")
    denied = started(wire, ipFilter="true", ipFilterRules="allow:ip:10.*, deny:ip:127.0.0.*,allow:name:*")
    with pytest.raises(EventDeliveryError):
        client(denied).append_batch([Event(b"x")])
    assert any("rejected by ipFilterRules (deny:ip:127.0.0.*)" in r.getMessage() for r in caplog.records)
    allowed = started(wire, ipFilter="true", ipFilterRules="allow:name:localhost,deny:ip:*")
    client(allowed).append_batch([Event(b"y")])
    assert [e.body for e in allowed.take()] == [b"y"]


@pytest.mark.parametrize("settings,key,message", [
    ({"ipFilter": "true"}, "ipFilterRules", "is required when ipFilter is true"),
    ({"ipFilter": "true", "ipFilterRules": "permit:ip:*"}, "ipFilterRules", "allow|deny"),
    ({"ssl": "true"}, "keystore", "is required when ssl is true"),
    ({"compression-type": "gzip"}, "compression-type", "none, deflate"),
])
def test_config_errors(settings: dict[str, str], key: str, message: str) -> None:
    src = AvroSource("r1")
    with pytest.raises(ConfigError) as e:
        src.configure(Context({"bind": "0.0.0.0", "port": "4141", **settings}, prefix="a1.sources.r1."))
    assert f"a1.sources.r1.{key}" in str(e.value) and message in str(e.value)


def make_cert(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A self-signed certificate: (PEM with cert and key, PKCS12 keystore with password 'secret', CA PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flumepy-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    pem = tmp_path / "server.pem"
    pem.write_bytes(cert_pem + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    p12 = tmp_path / "server.jks"  # keytool's default type since Java 9 is PKCS12, whatever the name
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"server", key, cert, None, serialization.BestAvailableEncryption(b"secret")))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert_pem)
    return pem, p12, ca


@pytest.mark.parametrize("store", ["pem", "pkcs12"])
def test_tls(wire, tmp_path: Path, store: str) -> None:  # type: ignore[no-untyped-def]
    pem, p12, ca = make_cert(tmp_path)
    keys = {"keystore": str(pem)} if store == "pem" else {"keystore": str(p12), "keystore-password": "secret"}
    w = started(wire, ssl="true", **keys)
    c = client(w, ssl_context=client_context(False, str(ca), None))
    c.append_batch([Event(b"secret")])
    c.close()
    assert [e.body for e in w.take()] == [b"secret"]
    with pytest.raises(EventDeliveryError):  # plain client against a TLS source
        client(w, connect_timeout=3).append_batch([Event(b"x")])
    untrusted = client(w, ssl_context=client_context(False, None, None))
    with pytest.raises(EventDeliveryError, match="TLS"):
        untrusted.append_batch([Event(b"x")])


def test_jks_keystore_is_refused_with_conversion_hint(wire, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    jks = tmp_path / "old.jks"
    jks.write_bytes(b"\xfe\xed\xfe\xed" + b"\x00" * 64)
    w: Wired = wire(AvroSource, {"bind": "127.0.0.1", "port": "0", "ssl": "true", "keystore": str(jks)})
    with pytest.raises(Exception, match="keytool -importkeystore"):
        w.source.start()


def test_unknown_client_hash_takes_the_second_handshake_round(wire) -> None:  # type: ignore[no-untyped-def]
    import io

    from flumepy.avro import protocol as p
    from flumepy.avro.framing import FrameDecoder

    w = started(wire)
    s = _raw(w)
    other = b"\x11" * 16
    dec = FrameDecoder()

    def call(hs: dict) -> io.BytesIO:  # type: ignore[type-arg]
        s.sendall(encode_frame(5, encode_call("appendBatch", encode_events([Event(b"z")]), hs)))
        got: list = []  # type: ignore[type-arg]
        while not got:
            got = dec.feed(s.recv(65536))
        assert got[0][0] == 5  # the serial is echoed
        return io.BytesIO(got[0][1])

    fo = call({"clientHash": other, "clientProtocol": None, "serverHash": other, "meta": {}})
    hs = p.read(fo, p.HANDSHAKE_RESPONSE_SCHEMA)
    assert (hs["match"], hs["serverHash"], hs["serverProtocol"]) == ("NONE", p.PROTOCOL_MD5, p.PROTOCOL_JSON)
    assert fo.read() == b""  # nothing but the handshake: the call was not processed
    fo = call({"clientHash": other, "clientProtocol": p.PROTOCOL_JSON, "serverHash": other, "meta": {}})
    assert p.read(fo, p.HANDSHAKE_RESPONSE_SCHEMA)["match"] == "CLIENT"
    assert fo.read() == b"\x00\x00\x00"  # meta {}, no error, OK
    s.close()
    assert [e.body for e in w.take()] == [b"z"]
