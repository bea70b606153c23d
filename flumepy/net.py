"""Small socket helpers shared by the network sources."""

from __future__ import annotations

import socket

from flumepy.core.errors import FlumeError


def listen_tcp(host: str, port: int, what: str, host_key: str = "bind address") -> socket.socket:
    """A listening TCP socket on host:port (SO_REUSEADDR, backlog 128).

    Errors are FlumeErrors naming ``what`` (e.g. "netcat source r1"), the address and the reason.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise FlumeError(f"{what}: cannot resolve {host_key} {host!r}: {e}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise FlumeError(f"{what}: cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock
