"""Leases: time-bound ownership of a key, with expiry from the store's clock and a fencing epoch.

A lease key holds a :class:`LockRecord` ``{owner, epoch, expires_ms}``. Acquiring bumps ``epoch``, so an
old holder that wakes up finds a different epoch and steps down. Every state transition made under a
lease calls :func:`check_lease` inside its transaction: it verifies owner and epoch and that the lease has
not expired by the store's clock, and puts the lease key into the write set, so the transition and a
concurrent take-over of the lease cannot both commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from roboflow.coordination.errors import LeaseHeldError, LeaseLostError
from roboflow.coordination.records import LockRecord, decode, encode
from roboflow.coordination.store import StateStore, Transaction, run_transaction
from roboflow.errors import StateError

__all__ = ["KeptLease", "Lease", "acquire_lease", "check_lease", "read_lease", "release_lease", "renew_lease"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease held by this process: enough to prove ownership in a transaction."""

    key: str
    owner: str
    epoch: int
    ttl_ms: int


def read_lease(txn: Transaction, key: str) -> LockRecord | None:
    raw = txn.get(key)
    return None if raw is None else decode(LockRecord, raw, key=key)


def check_lease(
    txn: Transaction, lease: Lease, *, prefetched: Mapping[str, bytes] | None = None
) -> LockRecord:
    """Verify inside ``txn`` that ``lease`` is still held and unexpired, and lock its key.

    Args:
        txn: The transaction making a transition under the lease.
        lease: The lease to verify.
        prefetched: The result of a ``get_many`` in ``txn`` whose keys included ``lease.key`` (saves a
            round trip; a missing entry means the lease record does not exist).

    Raises:
        LeaseLostError: The lease is gone, has another owner or epoch, or expired by the store's clock.
    """
    if prefetched is None:
        record = read_lease(txn, lease.key)
    else:
        raw = prefetched.get(lease.key)
        record = None if raw is None else decode(LockRecord, raw, key=lease.key)
    if record is None or record.owner != lease.owner or record.epoch != lease.epoch:
        holder = "nobody" if record is None else f"{record.owner} (epoch {record.epoch})"
        raise LeaseLostError(
            f"lease lost: now held by {holder}, not {lease.owner} (epoch {lease.epoch})", path=lease.key
        )
    if record.expires_ms <= txn.now_ms():
        raise LeaseLostError(
            f"lease of {lease.owner} expired {txn.now_ms() - record.expires_ms} ms ago", path=lease.key
        )
    txn.lock(lease.key)
    return record


def acquire_lease(store: StateStore, key: str, owner: str, ttl_ms: int) -> Lease:
    """Take the lease at ``key`` if it is free or expired (re-acquiring one's own keeps its epoch).

    Raises:
        LeaseHeldError: Another owner holds an unexpired lease.
    """

    def acquire(txn: Transaction) -> Lease:
        now = txn.now_ms()
        record = read_lease(txn, key)
        if record is not None and record.owner == owner:
            epoch = record.epoch  # ours already (e.g. a retry after an ambiguous commit)
        elif record is not None and record.expires_ms > now:
            raise LeaseHeldError(
                f"lease held by {record.owner} for {record.expires_ms - now} ms more", path=key
            )
        else:
            epoch = (record.epoch if record else 0) + 1
        txn.put(key, encode(LockRecord(owner=owner, epoch=epoch, expires_ms=now + ttl_ms, acquired_ms=now)))
        return Lease(key=key, owner=owner, epoch=epoch, ttl_ms=ttl_ms)

    return run_transaction(store, acquire)


def renew_lease(txn: Transaction, lease: Lease) -> int:
    """Extend ``lease`` by its TTL from now, inside ``txn``; returns the new expiry.

    Renewal needs the same owner and epoch but not an unexpired lease: until someone fences it (bumps the
    epoch), an expired lease is still ours.

    Raises:
        LeaseLostError: Another owner or epoch holds the key (step down).
    """
    record = read_lease(txn, lease.key)
    if record is None or record.owner != lease.owner or record.epoch != lease.epoch:
        raise LeaseLostError(f"lease of {lease.owner} (epoch {lease.epoch}) was taken over", path=lease.key)
    expires = txn.now_ms() + lease.ttl_ms
    txn.put(lease.key, encode(LockRecord(lease.owner, lease.epoch, expires, record.acquired_ms)))
    return expires


def release_lease(store: StateStore, lease: Lease) -> bool:
    """Give the lease up if still ours (keeping the record, expired, so the epoch keeps counting up)."""

    def release(txn: Transaction) -> bool:
        record = read_lease(txn, lease.key)
        if record is None or record.owner != lease.owner or record.epoch != lease.epoch:
            return False
        txn.put(lease.key, encode(LockRecord(lease.owner, lease.epoch, 0, record.acquired_ms)))
        return True

    return run_transaction(store, release)


class KeptLease:
    """Keeps a lease alive from a daemon thread while a long step runs under it; releases it on exit.

    ``with KeptLease(store, lease) as kept:`` renews every third of the TTL. A renewal that finds the lease
    taken over sets ``kept.lost``; transitions made under the lease check it in their own transaction anyway.
    """

    def __init__(self, store: StateStore, lease: Lease) -> None:
        self.store = store
        self.lease = lease
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{lease.key}", daemon=True)

    def _keep(self) -> None:
        while not self._stop.wait(self.lease.ttl_ms / 3000):
            try:
                run_transaction(self.store, lambda txn: renew_lease(txn, self.lease))
            except LeaseLostError:
                self.lost = True
                return
            except StateError as err:
                log.warning("renewing %s failed: %s", self.lease.key, err)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if not self.lost:
            try:
                release_lease(self.store, self.lease)
            except StateError as err:
                log.warning("releasing %s failed (it expires by itself): %s", self.lease.key, err)
