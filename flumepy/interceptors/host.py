"""Type ``host``: sets a header to this machine's IP address or host name (Flume's HostInterceptor).

Keys: ``hostHeader`` (host), ``useIP`` (true: the local address, as Java's
``InetAddress.getLocalHost().getHostAddress()``; false: the canonical host name),
``preserveExisting`` (false).  The name is resolved once, at start (or on the first batch), never
per event.  If it cannot be resolved the header is not set, as in Flume.
"""

from __future__ import annotations

import logging
import socket
import threading

from flumepy.core.component import Interceptor
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event

log = logging.getLogger(__name__)


def local_host(use_ip: bool) -> str | None:
    """The local address (use_ip) or canonical host name; None when it cannot be resolved."""
    try:
        name = socket.gethostname()
        if use_ip:
            return socket.gethostbyname(name)
        return socket.getfqdn(name)
    except OSError as e:
        log.warning("could not resolve the local host (%s); the host header will not be set", e)
        return None


class HostInterceptor(Interceptor):
    PROPS = (
        Prop("hostHeader", "string", "host", "Header name."),
        Prop("useIP", "bool", True, "true: IP address; false: canonical host name."),
        Prop("preserveExisting", "bool", False, "Keep the header when the event already has it."),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.host: str | None = None
        self._resolved = False
        self._lock = threading.Lock()

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self._header: str = self.settings["hostHeader"]
        self._preserve: bool = self.settings["preserveExisting"]

    def resolve(self) -> str | None:
        with self._lock:
            if not self._resolved:
                self.host = local_host(self.settings["useIP"])
                self._resolved = True
        return self.host

    def start(self) -> None:
        self.resolve()
        super().start()

    def intercept_batch(self, events: list[Event]) -> list[Event]:
        host = self.host if self._resolved else self.resolve()
        if host is None:
            return events
        header = self._header
        if self._preserve:
            for e in events:
                e.headers.setdefault(header, host)
        else:
            for e in events:
                e.headers[header] = host
        return events
