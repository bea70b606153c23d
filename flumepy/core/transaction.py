"""Transactions with Flume's state rules (BasicTransactionSemantics) and a context-manager form.

Idiom::

    with channel.transaction() as tx:
        tx.put_batch(events)       # or: events = tx.take_batch(100)

A clean exit commits, an exception rolls back, and the transaction is always closed.
Subclasses fill in ``_do_put_batch``, ``_do_take_batch``, ``_do_commit`` and ``_do_rollback``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from types import TracebackType

from flumepy.core.errors import TransactionStateError
from flumepy.core.event import Event


class TxState(enum.Enum):
    NEW = "NEW"
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


class Transaction:
    """Base transaction: enforces NEW -> OPEN -> COMPLETED -> CLOSED and a same-thread rule."""

    __slots__ = ("state", "_thread")

    def __init__(self) -> None:
        self.state = TxState.NEW
        self._thread = threading.get_ident()

    # -- state checks -------------------------------------------------------------------------
    def _require(self, state: TxState, op: str) -> None:
        if self.state is not state:
            raise TransactionStateError(f"{op}() called in state {self.state.value}, expected {state.value}")
        if threading.get_ident() != self._thread:
            raise TransactionStateError(f"{op}() called from a thread other than the one that created it")

    # -- public API -----------------------------------------------------------------------------
    def begin(self) -> None:
        self._require(TxState.NEW, "begin")
        self.state = TxState.OPEN
        self._do_begin()

    def put(self, event: Event) -> None:
        self._require(TxState.OPEN, "put")
        self._do_put_batch((event,))

    def put_batch(self, events: Sequence[Event]) -> None:
        self._require(TxState.OPEN, "put_batch")
        if events:
            self._do_put_batch(events)

    def take(self) -> Event | None:
        self._require(TxState.OPEN, "take")
        got = self._do_take_batch(1)
        return got[0] if got else None

    def take_batch(self, max_events: int) -> Sequence[Event]:
        """Up to ``max_events`` events: a list, or an EventBatch a source put whole (read-only)."""
        self._require(TxState.OPEN, "take_batch")
        return self._do_take_batch(max_events)

    def commit(self) -> None:
        self._require(TxState.OPEN, "commit")
        self._do_commit()
        self.state = TxState.COMPLETED

    def rollback(self) -> None:
        self._require(TxState.OPEN, "rollback")
        self.state = TxState.COMPLETED
        self._do_rollback()

    def close(self) -> None:
        if self.state is TxState.CLOSED:
            return
        if self.state is TxState.OPEN:
            raise TransactionStateError("close() called on an open transaction: commit or roll back first")
        self.state = TxState.CLOSED
        self._do_close()

    def __enter__(self) -> Transaction:
        self.begin()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.state is TxState.OPEN:
                if exc_type is None:
                    try:
                        self.commit()
                    except BaseException:
                        if self.state is TxState.OPEN:
                            self.rollback()
                        raise
                else:
                    self.rollback()
        finally:
            self.close()

    # -- for subclasses ---------------------------------------------------------------------------
    def _do_begin(self) -> None:
        pass

    def _do_put_batch(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    def _do_take_batch(self, max_events: int) -> Sequence[Event]:
        raise NotImplementedError

    def _do_commit(self) -> None:
        raise NotImplementedError

    def _do_rollback(self) -> None:
        raise NotImplementedError

    def _do_close(self) -> None:
        pass
