"""``flumepy avro-client``: send lines of a file (or stdin) to an Avro source, like ``flume-ng avro-client``.

Each line (without its line terminator) becomes one event; ``-R FILE`` adds the headers of a Java
properties file to every event.  Lines are sent in ``appendBatch`` calls of ``--batch-size`` events
(5, Flume's default for this command); the command fails (exit 1) on the first batch not answered OK.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import BinaryIO

from flumepy.core.errors import FlumeError
from flumepy.core.event import Event


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("avro-client", help="send lines of a file or stdin to an Avro source")
    p.add_argument("-H", "--host", required=True, help="host of the Avro source")
    p.add_argument("-p", "--port", required=True, type=int, help="port of the Avro source")
    p.add_argument("-F", "--filename", help="file to send, one event per line (default: stdin)")
    p.add_argument("-R", "--headerFile", dest="header_file", help="properties file with headers for every event")
    p.add_argument("--batch-size", type=int, default=5, help="events per appendBatch call (default 5)")
    p.add_argument("--compression-type", choices=("none", "deflate"), default="none",
                   help="must match the source's compression-type")
    p.add_argument("--connect-timeout", type=float, default=20.0, help="seconds (default 20)")
    p.add_argument("--request-timeout", type=float, default=20.0, help="seconds (default 20)")
    p.set_defaults(func=run)


def _headers(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    from jproperties import Properties

    props = Properties()
    try:
        with open(path, "rb") as f:
            props.load(f, "utf-8")
    except OSError as e:
        raise FlumeError(f"cannot read header file {path}: {e.strerror or e}") from None
    return {k: v.data for k, v in props.items()}


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    for line in stream:
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        elif line.endswith(b"\r"):
            line = line[:-1]
        yield line


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise FlumeError("--batch-size must be at least 1")
    from flumepy.avro.client import AvroRpcClient

    headers = _headers(args.header_file)
    client = AvroRpcClient(args.host, args.port, batch_size=args.batch_size,
                           connect_timeout=args.connect_timeout, request_timeout=args.request_timeout,
                           deflate=args.compression_type == "deflate")
    sent = 0
    try:
        stream: BinaryIO
        if args.filename:
            try:
                stream = open(args.filename, "rb")
            except OSError as e:
                raise FlumeError(f"cannot read {args.filename}: {e.strerror or e}") from None
        else:
            stream = sys.stdin.buffer
        with stream:
            client.connect()
            batch: list[Event] = []
            for line in _lines(stream):
                batch.append(Event(line, dict(headers)))
                if len(batch) >= args.batch_size:
                    client.append_batch(batch)
                    sent += len(batch)
                    batch = []
            if batch:
                client.append_batch(batch)
                sent += len(batch)
    finally:
        client.close()
    print(f"sent {sent} events to {args.host}:{args.port}", file=sys.stderr)
    return 0
