"""Request -> events handlers for the ``http`` source (Flume's HTTPSourceHandler).

A handler is any class with ``configure(ctx: Context)`` (its ``handler.*`` keys, prefix removed) and
``get_events(request: HttpRequest) -> list[Event]``; raise :class:`BadRequest` for a 400.  Name one
by ``module:Class`` in ``handler``, or by the Flume class names mapped in :data:`ALIASES`.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from flumepy.core.context import Context
from flumepy.core.errors import ConfigError
from flumepy.core.event import Event


class BadRequest(Exception):
    """The request cannot be turned into events (Flume's HTTPBadRequestException): a 400."""


@dataclass
class HttpRequest:
    """What a handler sees of one request; the body is already read (bounded by maxRequestSize)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    content_type: str | None = None
    charset: str | None = None  # from Content-Type; None when absent
    extra: dict[str, Any] = field(default_factory=dict)


class Handler(Protocol):
    def configure(self, ctx: Context) -> None: ...

    def get_events(self, request: HttpRequest) -> list[Event]: ...


_JSON_CHARSETS = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}


class JSONHandler:
    """Flume's JSONHandler: ``[{"headers": {...}, "body": "text"}, ...]``.

    The body text is encoded with the request's charset (UTF-8 unless Content-Type says UTF-16 or
    UTF-32, encoded big-endian as Java does, UTF-16 with a byte-order mark).  Header values that are
    numbers or booleans become their JSON text; a ``null`` one is left out.
    """

    def configure(self, ctx: Context) -> None:
        pass

    def get_events(self, request: HttpRequest) -> list[Event]:
        charset = (request.charset or "utf-8").lower()
        if charset not in _JSON_CHARSETS:
            raise BadRequest(f"unsupported charset {request.charset!r}: the JSON handler reads UTF-8, "
                             "UTF-16 and UTF-32 only")
        try:
            text = _decode(request.body, charset)
        except UnicodeDecodeError as e:
            raise BadRequest(f"request body is not valid {charset.upper()}: {e.reason} at byte {e.start}") from None
        return parse_json_events(text, charset)


def parse_json_events(text: str, charset: str = "utf-8") -> list[Event]:
    """The JSON handler's parsing step, separate so it can be fuzzed."""
    if not text.strip():
        raise BadRequest("Request has invalid JSON Syntax: empty body (expected a JSON array of events)")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise BadRequest(f"Request has invalid JSON Syntax: {e}") from None
    if not isinstance(data, list):
        raise BadRequest("Request has invalid JSON Syntax: expected a JSON array of events, "
                         f"got {type(data).__name__}")
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise BadRequest(f"event {i}: expected a JSON object with headers and body")
        headers: dict[str, str] = {}
        raw_headers = item.get("headers")
        if raw_headers is not None:
            if not isinstance(raw_headers, dict):
                raise BadRequest(f"event {i}: headers must be a JSON object of strings")
            for k, v in raw_headers.items():
                if v is None:
                    continue
                headers[k] = _scalar(v, f"event {i}: header {k!r}")
        body = item.get("body")
        text_body = "" if body is None else _scalar(body, f"event {i}: body")
        out.append(Event(_encode(text_body, charset), headers))
    return out


def _scalar(v: object, what: str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    raise BadRequest(f"{what} must be a string, not a JSON {type(v).__name__}")


def _decode(data: bytes, charset: str) -> str:
    if charset == "utf-8":
        return data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("utf-8")
    bom = {"utf-16": (b"\xfe\xff", b"\xff\xfe"), "utf-32": (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")}[charset]
    if data.startswith(bom):
        return data.decode(charset)  # the BOM says which byte order
    return data.decode(charset + "-be")  # Java's default byte order


def _encode(text: str, charset: str) -> bytes:
    # Lone surrogates (JSON "\ud800") cannot be encoded: Java writes '?' for them.
    if charset == "utf-8":
        return text.encode("utf-8", "replace")
    if charset == "utf-16":
        return b"\xfe\xff" + text.encode("utf-16-be", "replace")
    return text.encode("utf-32-be", "replace")


class BlobHandler:
    """Flume's morphline BlobHandler: the whole request body is one event.

    Headers are the query parameters (first value of each) plus ``Content-Type`` when the request
    has one.  Bodies longer than ``maxBlobLength`` (default 100000000) are cut there (warning).
    """

    def __init__(self) -> None:
        self.max_blob = 100_000_000

    def configure(self, ctx: Context) -> None:
        n = ctx.get_int("maxBlobLength", 100_000_000)
        assert n is not None
        if n <= 0:
            raise ctx.error("maxBlobLength", f"must be greater than zero: {n}")
        self.max_blob = n

    def get_events(self, request: HttpRequest) -> list[Event]:
        headers = {}
        if request.content_type is not None:
            headers["Content-Type"] = request.content_type
        for k, vs in request.query.items():
            headers[k] = vs[0]
        body = request.body
        if len(body) > self.max_blob:
            request.extra["truncated"] = len(body)
            body = body[:self.max_blob]
        return [Event(body, headers)]


class BLOBHandler:
    """Flume's core BLOBHandler: body = one event, headers = query parameters.

    ``handler.mandatoryParameters`` (comma-separated) must all be present, else a 400.
    """

    def __init__(self) -> None:
        self.mandatory: list[str] = []

    def configure(self, ctx: Context) -> None:
        self.mandatory = [p for p in (ctx.get("mandatoryParameters") or "").split(",") if p]

    def get_events(self, request: HttpRequest) -> list[Event]:
        headers = {k: vs[0] for k, vs in request.query.items()}
        for p in self.mandatory:
            if p not in headers:
                raise BadRequest(f"Please specify {p} parameter in the request.")
        return [Event(request.body, headers)]


ALIASES = {
    "org.apache.flume.source.http.JSONHandler": JSONHandler,
    "JSONHandler": JSONHandler,
    "json": JSONHandler,
    "org.apache.flume.sink.solr.morphline.BlobHandler": BlobHandler,
    "BlobHandler": BlobHandler,
    "blob": BlobHandler,
    "org.apache.flume.source.http.BLOBHandler": BLOBHandler,
    "BLOBHandler": BLOBHandler,
}


def load_handler(name: str, ctx: Context, key: str = "handler") -> Handler:
    """Instantiate and configure the handler ``name`` (alias, Flume class name or module:Class)."""
    name = name.strip()
    cls: Any = ALIASES.get(name)
    if cls is None:
        if ":" not in name:
            raise ctx.error(key, f"unknown handler {name!r}: use JSONHandler, BlobHandler, BLOBHandler or "
                                 "module:Class")
        mod_name, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as e:
            raise ctx.error(key, f"cannot load handler {name!r}: {e}") from None
    handler = cls()
    if not callable(getattr(handler, "get_events", None)):
        raise ctx.error(key, f"{name!r} is not a handler: it has no get_events(request) method")
    try:
        handler.configure(ctx.sub(key + "."))
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - a plugin's own error, reported against its key
        raise ctx.error(key, f"handler {name!r} failed to configure: {e}") from None
    return handler  # type: ignore[no-any-return]
