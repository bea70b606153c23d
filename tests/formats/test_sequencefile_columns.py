"""append_columns (the batch fast path) writes exactly the bytes append_many writes."""

from __future__ import annotations

import random

import pytest

from flumepy.formats.sequencefile import BYTES_WRITABLE, TEXT, SequenceFileWriter


@pytest.mark.parametrize("one_key", [False, True])
def test_columns_fast_path_is_byte_identical_to_records(one_key: bool) -> None:
    rnd = random.Random(7 + one_key)
    for trial in range(300):
        vc = rnd.choice([BYTES_WRITABLE, TEXT])
        iv = rnd.choice([0, 1, 20, 100, 2000, 5000])
        a = SequenceFileWriter(vc, sync_marker=b"M" * 16, sync_interval=iv)
        b = SequenceFileWriter(vc, sync_marker=b"M" * 16, sync_interval=iv)
        for _ in range(rnd.randint(1, 5)):
            key = rnd.randint(-2**40, 2**40)
            recs = [(key if one_key else rnd.randint(-2**40, 2**40),
                     bytes(rnd.randint(0, rnd.choice([5, 200, 300, 70000])))) for _ in range(rnd.randint(0, 120))]
            a.append_many(recs)
            if one_key:
                b.append_columns(key, tuple(v for _, v in recs))
            else:
                b.append_columns([k for k, _ in recs], [v for _, v in recs])
            if rnd.random() < .3:
                a.sync()
                b.sync()
            assert (a.pos, a._last_sync, a.records) == (b.pos, b._last_sync, b.records), trial
            assert a.take() == b.take(), trial
