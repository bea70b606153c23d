"""Source-side delivery helpers: put a batch on the channels, retrying until it fits or the source stops.

Event-driven sources (netcat, exec, syslog, http, ...) use these so a full channel means backpressure
and retries, never a dropped event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from flumepy.core.component import EventDrivenSource
from flumepy.core.errors import ChannelError
from flumepy.core.event import Event

log = logging.getLogger(__name__)

DEFAULT_BATCH = 100


def channel_batch_limit(source: EventDrivenSource, default: int = DEFAULT_BATCH) -> int:
    """The largest put every channel of ``source`` accepts in one transaction."""
    try:
        caps = [c.transaction_capacity for c in source.channel_processor.selector.channels]
    except AttributeError:
        return default
    caps = [c for c in caps if c and c > 0]
    return min(caps) if caps else default


def deliver(source: EventDrivenSource, events: Sequence[Event], stopping: threading.Event,
            lock: threading.Lock | None = None) -> str | None:
    """Put ``events`` on the channels, retrying with backoff while the source runs.

    Returns None once committed, or the last error message if the source stopped first.  Counters
    are updated once per attempt (under ``lock`` when several threads share them).
    """
    c = source.counters.values
    delay = 0.05
    warned = False
    while True:
        try:
            source.channel_processor.process_batch(events)
        except ChannelError as e:
            reason = str(e)
            count(lock, c, "ChannelWriteFail", 1)
        else:
            count(lock, c, "EventAcceptedCount", len(events), "AppendBatchAcceptedCount", 1)
            if warned:
                log.info("%s source %s: channel accepts events again", _type(source), source.name)
            return None
        if stopping.is_set():
            return reason
        if not warned:
            log.warning("%s source %s: channel put failed, retrying until it succeeds: %s",
                        _type(source), source.name, reason)
            warned = True
        if stopping.wait(delay):
            return reason
        delay = min(delay * 2, 1.0)


def count(lock: threading.Lock | None, c: dict[str, int], *pairs: object) -> None:
    if lock is None:
        for i in range(0, len(pairs), 2):
            c[pairs[i]] += pairs[i + 1]  # type: ignore[index,operator]
        return
    with lock:
        for i in range(0, len(pairs), 2):
            c[pairs[i]] += pairs[i + 1]  # type: ignore[index,operator]


def _type(source: EventDrivenSource) -> str:
    return getattr(source, "TYPE_NAME", type(source).__name__)
