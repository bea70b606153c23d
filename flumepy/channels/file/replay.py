"""Replay on start: a checkpoint plus the log tail give back the committed, not-yet-taken events.

Commits are applied in commit-seq order.  With a checkpoint, a commit whose seq is below the
checkpoint's ``next_seq`` and not listed as pending is already reflected in the checkpoint and is
skipped; every other commit adds its puts at the tail and removes its takes.  Without a usable
checkpoint every log file is read from its start (a full replay).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from flumepy.channels.file.checkpoint import Checkpoint
from flumepy.channels.file.log import HEADER_SIZE, list_logs, scan_file

log = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    pointers: list[int]
    files: dict[int, tuple[int, str]] = field(default_factory=dict)  # fileid -> (dir index, path)
    max_fileid: int = 0
    max_seq: int = 0
    records: int = 0
    commits: int = 0
    torn: list[str] = field(default_factory=list)
    dropped: int = 0
    seconds: float = 0.0


def replay(name: str, data_dirs: list[str], cp: Checkpoint | None) -> ReplayResult:
    t0 = time.monotonic()
    # Replay starts are found by file id (ids are unique across directories), so directories may be
    # moved or renamed; a directory without one is read in full: commits the checkpoint already
    # reflects are skipped by their seq, so reading more than needed is always safe.
    starts: dict[int, int] = {}
    if cp is not None:
        starts = {fid: off for _, fid, off in cp.starts}
    commits: list[tuple[int, list[int], list[int]]] = []
    res = ReplayResult([])
    for index, d in enumerate(data_dirs):
        logs = list_logs(d)
        sfid, soff = 0, HEADER_SIZE
        for fid, _ in logs:
            if fid in starts:
                sfid, soff = fid, starts[fid]
        for fid, path in logs:
            res.files[fid] = (index, path)
            res.max_fileid = max(res.max_fileid, fid)
            if fid < sfid:
                continue
            offset = soff if fid == sfid else HEADER_SIZE
            scanned = scan_file(path, fid, offset)
            res.records += scanned.records
            commits.extend(scanned.commits)
            if scanned.torn_at >= 0:
                size = os.path.getsize(path)
                msg = (f"{path}: torn or corrupt record at offset {scanned.torn_at} ({scanned.reason}); "
                       f"replay of this file stops there, {size - scanned.torn_at} bytes after it are ignored")
                log.warning("channel %s: %s", name, msg)
                res.torn.append(msg)
    commits.sort(key=lambda c: c[0])
    if cp is not None:
        pending = set(cp.pending)
        skip_below = cp.next_seq
        queue = cp.pointers.tolist()
    else:
        pending, skip_below, queue = set(), 0, []
    present = set(queue)
    removed: set[int] = set()
    for seq, puts, takes in commits:
        res.max_seq = max(res.max_seq, seq)
        if seq < skip_below and seq not in pending:
            continue
        res.commits += 1
        removed.update(takes)
        for p in puts:
            if p not in present:
                present.add(p)
                queue.append(p)
    files = res.files
    out = [p for p in queue if p not in removed and (p >> 32) in files]
    res.dropped = sum(1 for p in queue if p not in removed and (p >> 32) not in files)
    if res.dropped:
        log.warning("channel %s: %d events in the checkpoint point into log files that no longer exist; "
                    "they are dropped", name, res.dropped)
    res.pointers = out
    res.seconds = time.monotonic() - t0
    return res
