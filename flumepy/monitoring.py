"""Flume's HTTP monitoring: ``-Dflume.monitoring.type=http -Dflume.monitoring.port=41414``.

``GET /metrics`` answers Flume's JSON (``{"CHANNEL.c1": {"ChannelSize": "0", ...}, ...}``, every value a
string), ``GET /metrics/prometheus`` the same counters in Prometheus text format, ``GET /`` a small
HTML page.  TRACE and OPTIONS are forbidden, as in Flume's HTTPMetricsServer.  The server runs in a
daemon thread owned by the returned handle; nothing here is global.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

DEFAULT_PORT = 41414
DEFAULT_BIND = "0.0.0.0"
HTTP_TYPES = ("http", "org.apache.flume.instrumentation.http.HTTPMetricsServer")
# Attributes that are not numbers to export (Type) or are timestamps rather than counters.
_SKIP = {"Type"}
_GAUGES = {"ChannelSize", "ChannelCapacity", "ChannelFillPercentage", "StartTime", "StopTime"}


class MetricsSource(Protocol):
    def metrics(self) -> dict[str, dict[str, str]]: ...


class MonitorHandle(Protocol):
    def stop(self) -> None: ...


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-zA-Z0-9_]", "_", s).lower()


class FlumeCollector:
    """A prometheus-client Collector over ``metrics()``: ``flume_<type>_<attr>{component="name"}``."""

    def __init__(self, metrics: Callable[[], Mapping[str, Mapping[str, str]]]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for comp_key, attrs in sorted(self._metrics().items()):
            ctype, _, cname = comp_key.partition(".")
            for attr, text in sorted(attrs.items()):
                if attr in _SKIP:
                    continue
                try:
                    value = float(text)
                except ValueError:
                    continue
                name = f"flume_{_snake(ctype)}_{_snake(attr)}"
                fam = families.get(name)
                if fam is None:
                    doc = f"Flume {ctype.lower()} attribute {attr}"
                    if attr in _GAUGES:
                        fam = GaugeMetricFamily(name, doc, labels=["component"])
                    else:
                        fam = CounterMetricFamily(name, doc, labels=["component"])
                    families[name] = fam
                fam.add_metric([cname], value)  # type: ignore[attr-defined]
        yield from families.values()

    def describe(self) -> list[Metric]:
        return []  # families depend on the running topology; skip registration-time collection


_INDEX = b"""<!DOCTYPE html>
<html><head><title>flumepy agent metrics</title></head>
<body><h1>flumepy agent</h1>
<ul><li><a href="/metrics">/metrics</a> (Flume JSON)</li>
<li><a href="/metrics/prometheus">/metrics/prometheus</a> (Prometheus text format)</li></ul>
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer
    server_version = "flumepy"

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            if path == "/metrics":
                body = json.dumps(self.server.source.metrics()).encode()
                self._send(200, "application/json", body)
            elif path == "/metrics/prometheus":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(self.server.prom_registry))
            elif path == "/":
                self._send(200, "text/html; charset=utf-8", _INDEX)
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found; try /metrics\n")
        except Exception:
            log.exception("monitoring: failed to answer GET %s", self.path)
            self._send(500, "text/plain; charset=utf-8", b"internal error\n")

    def _forbidden(self) -> None:
        self._send(403, "text/plain; charset=utf-8", b"forbidden\n")

    do_TRACE = _forbidden  # noqa: N815
    do_OPTIONS = _forbidden  # noqa: N815

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("monitoring %s: " + format, self.client_address[0], *args)


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], source: MetricsSource) -> None:
        self.source = source
        self.prom_registry = CollectorRegistry(auto_describe=False)
        self.prom_registry.register(FlumeCollector(source.metrics))  # type: ignore[arg-type]
        super().__init__(addr, _Handler)


class HTTPMetricsServer:
    """Serves an agent's metrics over HTTP until ``stop()``."""

    def __init__(self, source: MetricsSource, port: int = DEFAULT_PORT, bind: str = DEFAULT_BIND) -> None:
        self.source = source
        self.port = port
        self.bind = bind
        self._server: _MetricsHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.bind if self.bind not in ("", "0.0.0.0", "::") else "localhost"
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> None:
        self._server = _MetricsHTTPServer((self.bind, self.port), self.source)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="monitoring-http", daemon=True)
        self._thread.start()
        log.info("monitoring: serving metrics on %s (bound to %s:%d)", self.url, self.bind, self.port)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        log.info("monitoring: stopped the metrics server on port %d", self.port)


class _NoMonitoring:
    def stop(self) -> None:
        pass


def start_monitoring(agent: MetricsSource, system: Mapping[str, str]) -> MonitorHandle:
    """Start what ``-Dflume.monitoring.*`` asks for; a handle whose ``stop()`` ends it.

    Unsupported types (ganglia, custom MonitorService classes) and bad ports get a warning and no
    server: monitoring never keeps the agent from running.
    """
    mtype = (system.get("flume.monitoring.type") or "").strip()
    if not mtype:
        return _NoMonitoring()
    if mtype.lower() not in {t.lower() for t in HTTP_TYPES}:
        log.warning("monitoring: -Dflume.monitoring.type=%s is not supported by flumepy (only http, i.e. "
                    "%s); no monitoring server started", mtype, HTTP_TYPES[1])
        return _NoMonitoring()
    port_text = (system.get("flume.monitoring.port") or str(DEFAULT_PORT)).strip()
    try:
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        log.warning("monitoring: -Dflume.monitoring.port=%s is not a port number (0-65535); no monitoring "
                    "server started", port_text)
        return _NoMonitoring()
    bind = (system.get("flume.monitoring.bind") or DEFAULT_BIND).strip()
    server = HTTPMetricsServer(agent, port, bind)
    try:
        server.start()
    except OSError as e:
        log.error("monitoring: cannot listen on %s:%d: %s; no monitoring server started", bind, port, e)
        return _NoMonitoring()
    return server
