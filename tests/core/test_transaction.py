"""Transaction state machine (NEW -> OPEN -> COMPLETED -> CLOSED), the thread rule, and `with`."""

from __future__ import annotations

import threading

import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.context import Context
from flumepy.core.errors import ChannelError, TransactionStateError
from flumepy.core.event import Event
from flumepy.core.transaction import TxState


def channel(capacity: int = 10, tx_capacity: int = 5) -> MemoryChannel:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(tx_capacity), "keep-alive": "0"}))
    return ch


def bodies(events: list[Event]) -> list[bytes]:
    return [e.body for e in events]


def test_state_sequence_and_wrong_state_errors() -> None:
    ch = channel()
    tx = ch.transaction()
    assert tx.state is TxState.NEW
    with pytest.raises(TransactionStateError, match=r"put\(\) called in state NEW, expected OPEN"):
        tx.put(Event(b"x"))
    with pytest.raises(TransactionStateError):
        tx.commit()
    tx.begin()
    assert tx.state is TxState.OPEN
    with pytest.raises(TransactionStateError, match="begin"):
        tx.begin()
    with pytest.raises(TransactionStateError, match="open transaction"):
        tx.close()
    tx.put(Event(b"a"))
    tx.commit()
    assert tx.state is TxState.COMPLETED
    for op in (tx.commit, tx.rollback, lambda: tx.put(Event(b"b")), lambda: tx.take_batch(1)):
        with pytest.raises(TransactionStateError):
            op()
    tx.close()
    assert tx.state is TxState.CLOSED
    tx.close()  # idempotent
    with pytest.raises(TransactionStateError):
        tx.begin()
    assert ch.size() == 1


def test_rollback_then_close() -> None:
    ch = channel()
    tx = ch.transaction()
    tx.begin()
    tx.put_batch([Event(b"1"), Event(b"2")])
    tx.rollback()
    assert tx.state is TxState.COMPLETED
    tx.close()
    assert ch.size() == 0


def test_other_thread_may_not_use_a_transaction() -> None:
    ch = channel()
    tx = ch.transaction()
    tx.begin()
    errors: list[BaseException] = []

    def other() -> None:
        for op in (lambda: tx.put(Event(b"x")), tx.commit, tx.rollback):
            try:
                op()
            except TransactionStateError as e:
                errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 3
    assert all("thread other than the one that created it" in str(e) for e in errors)
    tx.put(Event(b"mine"))
    tx.commit()
    tx.close()
    assert ch.size() == 1


def test_context_manager_commits_on_success() -> None:
    ch = channel()
    with ch.transaction() as tx:
        tx.put_batch([Event(b"a"), Event(b"b")])
    assert tx.state is TxState.CLOSED
    with ch.transaction() as tx:
        assert bodies(tx.take_batch(10)) == [b"a", b"b"]
    assert ch.size() == 0


def test_context_manager_rolls_back_on_exception_and_reraises() -> None:
    ch = channel()
    with ch.transaction() as tx:
        tx.put_batch([Event(b"a"), Event(b"b"), Event(b"c")])
    with pytest.raises(RuntimeError, match="boom"):
        with ch.transaction() as tx:
            assert bodies(tx.take_batch(2)) == [b"a", b"b"]
            raise RuntimeError("boom")
    assert tx.state is TxState.CLOSED
    with pytest.raises(KeyError):
        with ch.transaction() as tx:
            tx.put(Event(b"never"))
            raise KeyError("x")
    with ch.transaction() as tx:
        assert bodies(tx.take_batch(10)) == [b"a", b"b", b"c"]  # same order, nothing added


def test_failed_commit_rolls_back_and_closes() -> None:
    ch = channel(capacity=2, tx_capacity=2)
    with ch.transaction() as tx:
        tx.put_batch([Event(b"1"), Event(b"2")])
    with pytest.raises(ChannelError, match="full"):
        with ch.transaction() as tx:
            tx.put(Event(b"3"))
    assert tx.state is TxState.CLOSED
    assert ch.size() == 2


def test_explicit_commit_inside_with_is_allowed() -> None:
    ch = channel()
    with ch.transaction() as tx:
        tx.put(Event(b"x"))
        tx.commit()
    assert tx.state is TxState.CLOSED and ch.size() == 1


def test_empty_put_batch_is_a_no_op() -> None:
    ch = channel()
    with ch.transaction() as tx:
        tx.put_batch([])
    assert ch.size() == 0
    assert ch.counters.values["EventPutAttemptCount"] == 0
