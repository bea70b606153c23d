"""Byte streams under the Avro framing: plain TCP, zlib ``deflate`` (Flume's ``compression-type``), TLS.

Flume puts Netty's ``JZlibEncoder``/``JZlibDecoder`` in the pipeline: the connection is one zlib
stream (RFC 1950 header) in each direction, sync-flushed after every message.  Decompression here is
done in bounded steps, so a small compressed input cannot expand into unbounded memory.

TLS: the sink's client context is here; the source's server context is the one all TLS sources
share (flumepy.tls).  A truststore may be PKCS12 (what ``keytool`` writes by default since
Java 9, whatever the file is called) or PEM; a real JKS file is refused with the ``keytool
-importkeystore`` command that converts it.
"""

from __future__ import annotations

import socket
import ssl
import warnings
import zlib

from flumepy.tls import keystore_kind

RECV_SIZE = 1 << 18
INFLATE_STEP = 1 << 20  # most decompressed bytes produced per recv() call

PROTOCOLS = {
    "SSLv3": ssl.TLSVersion.SSLv3, "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


class Stream:
    """A connected socket, optionally deflate-compressed; ``recv`` returns b"" at end of stream."""

    def __init__(self, sock: socket.socket, deflate: bool = False, level: int = 6) -> None:
        self.sock = sock
        self._comp = zlib.compressobj(level) if deflate else None
        self._decomp = zlib.decompressobj() if deflate else None
        self._tail = b""

    def send(self, data: bytes) -> None:
        if self._comp is not None:
            data = self._comp.compress(data) + self._comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def recv(self) -> bytes:
        d = self._decomp
        if d is None:
            return self.sock.recv(RECV_SIZE)
        while True:
            if self._tail:
                raw, self._tail = self._tail, b""
            else:
                raw = self.sock.recv(RECV_SIZE)
                if not raw:
                    return b""
            try:
                out = d.decompress(raw, INFLATE_STEP)
            except zlib.error as e:
                raise OSError(f"invalid deflate stream: {e}") from None
            self._tail = d.unconsumed_tail
            if d.eof:
                return b""  # peer finished its zlib stream: treat as end of connection
            if out:
                return out

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# -- TLS -------------------------------------------------------------------------------------------
def _apply_protocols(ctx: ssl.SSLContext, include: list[str], exclude: list[str]) -> None:
    names = [p for p in PROTOCOLS if (not include or p in include) and p not in exclude]
    if not names:
        raise ValueError("include-protocols/exclude-protocols leave no TLS protocol enabled")
    versions = [PROTOCOLS[p] for p in names]
    with warnings.catch_warnings():  # old protocol names are deprecated; OpenSSL refuses them anyway
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            ctx.minimum_version = max(min(versions), ctx.minimum_version)
            ctx.maximum_version = max(versions)
        except (ValueError, ssl.SSLError):
            pass


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def client_context(trust_all: bool, truststore: str | None, password: str | None,
                   include: list[str] | None = None, exclude: list[str] | None = None) -> ssl.SSLContext:
    """A TLS client context as Flume's: no host name check; trusts the truststore's certificates,
    or the system CAs without one, or anything with ``trust-all-certs``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _apply_protocols(ctx, include or [], exclude or ["SSLv3"])
    ctx.check_hostname = False
    if trust_all:
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not truststore:
        ctx.load_default_certs()
        return ctx
    data = _read(truststore)
    if keystore_kind(data, truststore) == "PEM":
        ctx.load_verify_locations(cafile=truststore)
        return ctx
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    _key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    certs = ([cert] if cert is not None else []) + list(extra or ())
    if not certs:
        raise ValueError(f"{truststore} holds no certificates")
    ctx.load_verify_locations(cadata="".join(c.public_bytes(Encoding.PEM).decode() for c in certs))
    return ctx
