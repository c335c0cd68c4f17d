"""The state-store protocol and the helper that runs a transaction function until it commits.

A store offers serializable key-value transactions over ``str`` keys and ``bytes`` values. Callers write a
*transaction function* ``fn(txn) -> T`` that reads, decides and writes; :func:`run_transaction` runs it in a
fresh transaction, commits, and re-runs it from scratch when the commit lost a race
(:class:`ConflictError`) or the store was briefly unreachable (:class:`StoreUnavailableError`, through the
store's circuit breaker). A function may therefore run more than once: it must not have side effects
outside the transaction, and it should recognise its own earlier commit when an ambiguous failure
(connection lost during commit) made the caller retry.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from roboflow.coordination.errors import ConflictError, StoreUnavailableError
from roboflow.errors import CircuitOpenError
from roboflow.resilience import CircuitBreaker, RetryPolicy, retry_call

__all__ = [
    "DEFAULT_CONFLICT_RETRIES",
    "StateStore",
    "Transaction",
    "TransactionFunction",
    "key_range",
    "run_transaction",
]

T = TypeVar("T")

#: How often :func:`run_transaction` re-runs a function that lost a race before giving up.
DEFAULT_CONFLICT_RETRIES = 50


class Transaction(Protocol):
    """One transaction: reads see a snapshot plus this transaction's own writes."""

    def get(self, key: str) -> bytes | None:
        """The value of ``key``, or None."""

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The values of the existing keys among ``keys``."""

    def scan(self, prefix: str, limit: int | None = None) -> list[tuple[str, bytes]]:
        """Pairs whose key starts with ``prefix``, in key order, at most ``limit``."""

    def put(self, key: str, value: bytes) -> None:
        """Write ``key`` at commit."""

    def delete(self, key: str) -> None:
        """Delete ``key`` at commit."""

    def lock(self, key: str) -> None:
        """Make ``key`` part of the write set without changing it, so a concurrent writer of ``key`` conflicts.

        Under snapshot isolation a read alone never conflicts; a lease check locks the lease key so that
        a transition and a concurrent take-over of the lease cannot both commit.
        """

    def now_ms(self) -> int:
        """The store's clock in milliseconds (PD's TSO for TiKV, the host clock for SQLite)."""


TransactionFunction = Callable[[Transaction], T]


class StateStore(Protocol):
    """A transactional key-value store holding the control plane's state."""

    #: The store's URL without credentials (used in messages and breaker names).
    url: str
    #: The circuit breaker every transaction goes through.
    breaker: CircuitBreaker
    #: How unavailability is retried.
    retry_policy: RetryPolicy

    def run_once(self, fn: TransactionFunction[T], *, readonly: bool = False) -> T:
        """Run ``fn`` in one transaction and commit it (a read-only one is just released).

        Raises:
            ConflictError: The commit lost a race; nothing was written.
            StoreUnavailableError: The store could not be reached; the outcome may be unknown.
            StateError: Any other failure of the store. Errors raised by ``fn`` propagate unchanged;
                in every failure case the transaction is rolled back.
        """

    def now_ms(self) -> int:
        """The store's clock in milliseconds."""

    def close(self) -> None:
        """Release connections and threads (idempotent)."""


def key_range(prefix: str) -> tuple[bytes, bytes | None]:
    """``[start, end)`` in UTF-8 byte order covering every key that starts with ``prefix`` (end None: no bound).

    Both stores keep keys as UTF-8 bytes compared bytewise, so scans order keys the same way.
    """
    start = prefix.encode()
    end = start.rstrip(b"\xff")
    if not end:
        return start, None
    return start, end[:-1] + bytes([end[-1] + 1])


def _conflict_pause(attempt: int) -> float:
    return min(0.1, 0.002 * 2.0 ** min(attempt, 10)) * random.uniform(0.5, 1.0)


def run_transaction(
    store: StateStore,
    fn: TransactionFunction[T],
    *,
    readonly: bool = False,
    conflict_retries: int = DEFAULT_CONFLICT_RETRIES,
) -> T:
    """Run ``fn`` in a transaction until it commits; see the module docstring.

    Raises:
        ConflictError: Still losing races after ``conflict_retries`` re-runs.
        StoreUnavailableError: The store stayed unreachable through the retry policy, or its circuit
            breaker is open (the message names the store and when it will be tried again).
    """
    attempt = 0
    while True:
        try:
            return retry_call(
                lambda: store.run_once(fn, readonly=readonly),
                is_transient=lambda err: isinstance(err, StoreUnavailableError),
                policy=store.retry_policy,
                breaker=store.breaker,
            )
        except ConflictError:
            attempt += 1
            if attempt > conflict_retries:
                raise
            time.sleep(_conflict_pause(attempt))
        except CircuitOpenError as err:
            raise StoreUnavailableError(
                f"state store {store.url} is unavailable: {err.message}", hint=err.hint
            ) from err
