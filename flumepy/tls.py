"""Server-side TLS for network sources, from Flume's ``ssl`` / ``keystore*`` keys (SslContextAwareAbstractSource).

Java keystores: PKCS12 files are read (with the ``cryptography`` package); JKS cannot be read by
Python, so a JKS keystore fails at start with the keytool command that converts it.  The file's
content, not ``keystore-type``, decides how it is read.  flumepy also takes PEM: a ``keystore`` file
holding the certificate chain and the private key, or the key in a separate file named by
``keystore-key``.  ``include-protocols`` / ``exclude-protocols`` are honoured; the cipher suite keys
use Java names and are accepted but ignored (with a warning).
"""

from __future__ import annotations

import os
import ssl
import tempfile
from typing import Any

from flumepy.core.context import Prop
from flumepy.core.errors import FlumeError

SSL_PROPS = (
    Prop("ssl", "bool", False, "Accept TLS connections only."),
    Prop("keystore", "string", None, "Keystore file: PKCS12, or PEM with certificate chain and key."),
    Prop("keystore-password", "string", None, "Password of the keystore (or of the PEM private key)."),
    Prop("keystore-type", "string", "JKS", "JKS, PKCS12 or PEM; the file's content decides how it is read "
         "(JKS files must be converted to PKCS12)."),
    Prop("keystore-key", "string", None, "flumepy: PEM private key file when the keystore holds only "
         "the certificate chain."),
    Prop("include-protocols", "list", [], "TLS protocols to allow (TLSv1.2 TLSv1.3 ...)."),
    Prop("exclude-protocols", "list", ["SSLv3"], "TLS protocols to refuse."),
    Prop("include-cipher-suites", "list", [], "Java cipher suite names.", ignored="Java cipher suite names"),
    Prop("exclude-cipher-suites", "list", [], "Java cipher suite names.", ignored="Java cipher suite names"),
)

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def server_context(settings: dict[str, Any], what: str) -> ssl.SSLContext | None:
    """The SSLContext for these settings, or None when ``ssl`` is off.  Reads files: call from start()."""
    if not settings.get("ssl"):
        return None
    path = settings.get("keystore")
    if not path:
        raise FlumeError(f"{what}: ssl=true needs keystore (a PKCS12 or PEM file)")
    password = settings.get("keystore-password")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FlumeError(f"{what}: cannot read keystore {path}: {e.strerror or e}") from None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # The file's content decides how it is read (keytool writes PKCS12 even when asked for "JKS").
        if keystore_kind(data, path) == "PEM":
            ctx.load_cert_chain(path, settings.get("keystore-key") or None, password)
        else:
            _load_pkcs12(ctx, data, password, what)
    except (ssl.SSLError, ValueError) as e:
        raise FlumeError(f"{what}: cannot load keystore {path}: {e}") from None
    allowed = [v for v in _VERSIONS if not settings.get("include-protocols") or v in settings["include-protocols"]]
    allowed = [v for v in allowed if v not in (settings.get("exclude-protocols") or [])]
    if not allowed:
        raise FlumeError(f"{what}: include-protocols/exclude-protocols leave no TLS protocol enabled")
    try:
        if allowed[0] in ("TLSv1.2", "TLSv1.3"):  # older minimums are OpenSSL's default floor anyway
            ctx.minimum_version = _VERSIONS[allowed[0]]
        ctx.maximum_version = _VERSIONS[allowed[-1]]
    except (ValueError, ssl.SSLError):
        pass  # the OpenSSL build refuses old protocols anyway
    return ctx


def keystore_kind(data: bytes, path: str) -> str:
    """"PEM" or "PKCS12" from a key/trust store's bytes; ValueError for a JKS file (Python can't read it)."""
    if data[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"):
        raise ValueError(f"{path} is a JKS keystore, which flumepy cannot read; convert it with "
                         f"'keytool -importkeystore -srckeystore {path} -destkeystore {path}.p12 "
                         "-deststoretype PKCS12' and use the .p12 file (or give PEM files)")
    if b"-----BEGIN" in data[:4096]:
        return "PEM"
    return "PKCS12"


def _load_pkcs12(ctx: ssl.SSLContext, data: bytes, password: str | None, what: str) -> None:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:
        raise FlumeError(f"{what}: reading a PKCS12 keystore needs the 'cryptography' package "
                         "(pip install cryptography), or give PEM files") from None
    key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    if key is None or cert is None:
        raise FlumeError(f"{what}: the PKCS12 keystore holds no private key with a certificate")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pem += cert.public_bytes(serialization.Encoding.PEM)
    for c in extra or []:
        pem += c.public_bytes(serialization.Encoding.PEM)
    fd, tmp = tempfile.mkstemp(suffix=".pem")
    try:
        os.write(fd, pem)
        os.close(fd)
        ctx.load_cert_chain(tmp)
    finally:
        os.unlink(tmp)
