"""In-memory multi-version store following TiKV's Percolator rules (single region, no gRPC here).

A key has at most one lock and a list of write records (newest first). A write record is what a
transaction left behind: a commit (``PUT``/``DELETE``/``LOCK``) at its commit timestamp, or a
``ROLLBACK`` at its own start timestamp, which makes a late prewrite of that transaction fail.

Rules served (as TiKV 7.x does them for a client without async commit or 1PC):

* reads at ``ts`` see the newest ``PUT``/``DELETE`` committed at or before ``ts``; a ``PUT``/``DELETE``
  lock with ``start_ts <= ts`` blocks them (``KeyLocked``); ``LOCK`` and pessimistic locks never do;
* prewrite fails on another transaction's lock, on a write newer than ``start_ts`` (write conflict),
  on its own rollback record, and for ``Insert``/``CheckNotExists`` on an existing value; it is
  idempotent and all-or-nothing;
* commit needs the transaction's own prewritten lock, or finds its own commit record (retry);
* a lock expires at ``physical(start_ts) + ttl`` milliseconds; cleanup and check-txn-status roll back
  expired locks (and write rollback records where TiKV does); a heart beat raises the TTL;
* ``gc(safe_point)`` keeps, per key, the newest value at or before the safe point and every newer
  record, and drops older versions and tombstones.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace

from .records import (
    KIND_OF_OP,
    PHYSICAL_SHIFT,
    Aborted,
    Action,
    AlreadyExists,
    KeyLocked,
    Lock,
    MvccError,
    Op,
    TxnLockNotFound,
    TxnNotFound,
    TxnStatus,
    Write,
    WriteConflict,
    WriteKind,
    physical_ms,
)

__all__ = [
    "PHYSICAL_SHIFT",
    "Aborted",
    "Action",
    "AlreadyExists",
    "KeyLocked",
    "Lock",
    "Mvcc",
    "MvccError",
    "Op",
    "TxnLockNotFound",
    "TxnNotFound",
    "TxnStatus",
    "WriteConflict",
    "physical_ms",
]


class Mvcc:
    """The store; every public method is atomic (one lock around the whole request)."""

    def __init__(self) -> None:
        self._mu = threading.RLock()
        self._locks: dict[bytes, Lock] = {}
        self._writes: dict[bytes, list[Write]] = {}
        self._keys: list[bytes] = []  # sorted union of keys with a lock or a write

    # ---- helpers (caller holds the mutex) ----
    def _touch(self, key: bytes) -> None:
        i = bisect.bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            self._keys.insert(i, key)

    def _forget_if_empty(self, key: bytes) -> None:
        if key not in self._locks and not self._writes.get(key):
            self._writes.pop(key, None)
            i = bisect.bisect_left(self._keys, key)
            if i < len(self._keys) and self._keys[i] == key:
                del self._keys[i]

    def _add_write(self, key: bytes, write: Write) -> None:
        writes = self._writes.setdefault(key, [])
        commits = [-w.commit_ts for w in writes]
        writes.insert(bisect.bisect_left(commits, -write.commit_ts), write)
        self._touch(key)

    def _newest_write(self, key: bytes) -> Write | None:
        writes = self._writes.get(key)
        return writes[0] if writes else None

    def _txn_write(self, key: bytes, start_ts: int) -> Write | None:
        for write in self._writes.get(key, ()):
            if write.start_ts == start_ts:
                return write
        return None

    def _value_at(self, key: bytes, ts: int) -> bytes | None:
        for write in self._writes.get(key, ()):
            if write.commit_ts > ts or write.kind in (WriteKind.LOCK, WriteKind.ROLLBACK):
                continue
            return write.value if write.kind is WriteKind.PUT else None
        return None

    def _read(self, key: bytes, ts: int) -> bytes | None:
        lock = self._locks.get(key)
        if lock is not None and lock.start_ts <= ts and lock.op in (Op.PUT, Op.DEL):
            raise KeyLocked(key, lock)
        return self._value_at(key, ts)

    def _rollback_key(self, key: bytes, start_ts: int) -> None:
        lock = self._locks.get(key)
        if lock is not None and lock.start_ts == start_ts:
            del self._locks[key]
        own = self._txn_write(key, start_ts)
        if own is not None and own.kind is not WriteKind.ROLLBACK:
            raise Aborted(f"TxnCommitted: txn {start_ts} is already committed at {own.commit_ts} on {key!r}")
        if own is None:
            self._add_write(key, Write(start_ts, start_ts, WriteKind.ROLLBACK))
        self._forget_if_empty(key)

    def _commit_key(self, key: bytes, start_ts: int, commit_ts: int) -> None:
        lock = self._locks.get(key)
        if lock is not None and lock.start_ts == start_ts:
            del self._locks[key]
            if lock.op is Op.PESSIMISTIC_LOCK:  # never prewritten: nothing to commit
                self._forget_if_empty(key)
                return
            self._add_write(key, Write(start_ts, commit_ts, KIND_OF_OP[lock.op], lock.value))
            return
        own = self._txn_write(key, start_ts)
        if own is None or own.kind is WriteKind.ROLLBACK:
            raise TxnLockNotFound(key, start_ts, commit_ts)

    def _keys_in(self, start: bytes, end: bytes) -> list[bytes]:
        lo = bisect.bisect_left(self._keys, start)
        hi = bisect.bisect_left(self._keys, end) if end else len(self._keys)
        return self._keys[lo:hi]

    # ---- reads ----
    def get(self, key: bytes, ts: int) -> bytes | None:
        with self._mu:
            return self._read(key, ts)

    def batch_get(self, keys: Iterable[bytes], ts: int) -> list[tuple[bytes, bytes | None, MvccError | None]]:
        out: list[tuple[bytes, bytes | None, MvccError | None]] = []
        with self._mu:
            for key in keys:
                try:
                    out.append((key, self._read(key, ts), None))
                except KeyLocked as err:
                    out.append((key, None, err))
        return out

    def scan(
        self, start: bytes, end: bytes, limit: int, ts: int
    ) -> list[tuple[bytes, bytes | None, MvccError | None]]:
        """Pairs in ``[start, end)`` visible at ``ts`` (``end`` empty: unbounded), locked keys as errors."""
        out: list[tuple[bytes, bytes | None, MvccError | None]] = []
        with self._mu:
            for key in self._keys_in(start, end):
                if limit and len(out) >= limit:
                    break
                try:
                    value = self._read(key, ts)
                except KeyLocked as err:
                    out.append((key, None, err))
                    continue
                if value is not None:
                    out.append((key, value, None))
        return out

    def scan_lock(self, max_version: int, start: bytes, end: bytes, limit: int) -> list[tuple[bytes, Lock]]:
        with self._mu:
            found = [(k, self._locks[k]) for k in self._keys_in(start, end) if k in self._locks]
        found = [(k, lock) for k, lock in found if lock.start_ts <= max_version]
        return found[:limit] if limit else found

    def lock_of(self, key: bytes) -> Lock | None:
        with self._mu:
            return self._locks.get(key)

    def versions(self, key: bytes) -> int:
        """How many write records ``key`` has (for gc tests)."""
        with self._mu:
            return len(self._writes.get(key, ()))

    # ---- two-phase commit ----
    def prewrite(
        self,
        mutations: Sequence[tuple[Op, bytes, bytes]],
        primary: bytes,
        start_ts: int,
        ttl: int,
        pessimistic: Sequence[bool] = (),
        *,
        for_update_ts: int = 0,
        txn_size: int = 0,
    ) -> list[MvccError]:
        """Lock every key or none; returns the locked-key errors (other errors raise)."""
        staged: dict[bytes, Lock] = {}
        locked: list[MvccError] = []
        with self._mu:
            for i, (op, key, value) in enumerate(mutations):
                is_pessimistic = i < len(pessimistic) and pessimistic[i]
                lock = self._locks.get(key)
                if lock is not None and lock.start_ts != start_ts:
                    locked.append(KeyLocked(key, lock))
                    continue
                if lock is not None and lock.op is not Op.PESSIMISTIC_LOCK:
                    continue  # already prewritten by this transaction
                if lock is None:
                    own = self._txn_write(key, start_ts)
                    if own is not None and own.kind is WriteKind.ROLLBACK:
                        raise WriteConflict(key, start_ts, own, primary)
                    if own is not None:
                        continue  # already committed: a retried prewrite
                    if is_pessimistic:
                        raise Aborted(f"PessimisticLockNotFound {{ start_ts: {start_ts}, key: {key!r} }}")
                    newest = self._newest_write(key)
                    if newest is not None and newest.commit_ts > start_ts:
                        raise WriteConflict(key, start_ts, newest, primary)
                if op in (Op.INSERT, Op.CHECK_NOT_EXISTS) and self._value_at(key, 1 << 64) is not None:
                    raise AlreadyExists(key)
                if op is Op.CHECK_NOT_EXISTS:
                    continue
                lock_op = Op.PUT if op is Op.INSERT else op
                if lock_op not in KIND_OF_OP:
                    raise Aborted(f"unsupported mutation op {op!r} in prewrite")
                staged[key] = Lock(primary, start_ts, ttl, lock_op, value, for_update_ts, txn_size)
            if locked:
                return locked
            for key, new_lock in staged.items():
                self._locks[key] = new_lock
                self._touch(key)
        return []

    def commit(self, keys: Iterable[bytes], start_ts: int, commit_ts: int) -> None:
        keys = list(keys)
        with self._mu:
            for key in keys:  # check first: all-or-nothing
                lock = self._locks.get(key)
                if (lock is None or lock.start_ts != start_ts) and (
                    (own := self._txn_write(key, start_ts)) is None or own.kind is WriteKind.ROLLBACK
                ):
                    raise TxnLockNotFound(key, start_ts, commit_ts)
            for key in keys:
                self._commit_key(key, start_ts, commit_ts)

    def batch_rollback(self, keys: Iterable[bytes], start_ts: int) -> None:
        with self._mu:
            for key in keys:
                self._rollback_key(key, start_ts)

    def cleanup(self, key: bytes, start_ts: int, current_ts: int) -> int:
        """Roll back ``start_ts`` on its primary unless alive; returns its commit ts (0: rolled back)."""
        with self._mu:
            lock = self._locks.get(key)
            if lock is not None and lock.start_ts == start_ts:
                if current_ts and not lock.expired(current_ts):
                    raise KeyLocked(key, lock)
                self._rollback_key(key, start_ts)
                return 0
            own = self._txn_write(key, start_ts)
            if own is not None:
                return 0 if own.kind is WriteKind.ROLLBACK else own.commit_ts
            self._rollback_key(key, start_ts)
            return 0

    def resolve(self, txns: dict[int, int], keys: Sequence[bytes] = ()) -> None:
        """Commit (``txns[start] = commit_ts``) or roll back (``0``) the locks of the given transactions."""
        with self._mu:
            for key in list(keys) or list(self._locks):
                lock = self._locks.get(key)
                if lock is None or lock.start_ts not in txns:
                    continue
                commit_ts = txns[lock.start_ts]
                if commit_ts:
                    self._commit_key(key, lock.start_ts, commit_ts)
                else:
                    self._rollback_key(key, lock.start_ts)

    def check_txn_status(
        self,
        primary: bytes,
        lock_ts: int,
        current_ts: int,
        *,
        rollback_if_not_exist: bool,
        resolving_pessimistic_lock: bool = False,
    ) -> TxnStatus:
        with self._mu:
            lock = self._locks.get(primary)
            if lock is not None and lock.start_ts == lock_ts:
                if not lock.expired(current_ts):
                    return TxnStatus(max(lock.ttl, 1), 0, Action.NO_ACTION, (primary, lock))
                if lock.op is Op.PESSIMISTIC_LOCK:
                    del self._locks[primary]
                    self._forget_if_empty(primary)
                    return TxnStatus(0, 0, Action.TTL_EXPIRE_PESSIMISTIC_ROLLBACK)
                self._rollback_key(primary, lock_ts)
                return TxnStatus(0, 0, Action.TTL_EXPIRE_ROLLBACK)
            own = self._txn_write(primary, lock_ts)
            if own is not None:
                commit = 0 if own.kind is WriteKind.ROLLBACK else own.commit_ts
                return TxnStatus(0, commit, Action.NO_ACTION)
            if not rollback_if_not_exist:
                raise TxnNotFound(primary, lock_ts)
            if resolving_pessimistic_lock:
                return TxnStatus(0, 0, Action.LOCK_NOT_EXIST_DO_NOTHING)
            self._rollback_key(primary, lock_ts)
            return TxnStatus(0, 0, Action.LOCK_NOT_EXIST_ROLLBACK)

    def check_secondary_locks(
        self, keys: Iterable[bytes], start_ts: int
    ) -> tuple[list[tuple[bytes, Lock]], int]:
        """Locks of ``start_ts`` on ``keys``, or ``([], commit_ts)`` once one key shows the outcome."""
        found: list[tuple[bytes, Lock]] = []
        with self._mu:
            for key in keys:
                lock = self._locks.get(key)
                if lock is not None and lock.start_ts == start_ts and lock.op is not Op.PESSIMISTIC_LOCK:
                    found.append((key, lock))
                    continue
                own = self._txn_write(key, start_ts)
                if own is not None and own.kind is not WriteKind.ROLLBACK:
                    return [], own.commit_ts
                self._rollback_key(key, start_ts)  # not prewritten: the transaction cannot commit any more
                return [], 0
        return found, 0

    # ---- pessimistic transactions ----
    def pessimistic_lock(
        self,
        keys: Sequence[bytes],
        primary: bytes,
        start_ts: int,
        ttl: int,
        for_update_ts: int,
    ) -> list[bytes | None]:
        """Lock ``keys`` for ``start_ts`` (all or none); returns their newest values."""
        values: list[bytes | None] = []
        with self._mu:
            for key in keys:
                lock = self._locks.get(key)
                if lock is not None and lock.start_ts != start_ts:
                    raise KeyLocked(key, lock)
                if lock is None:
                    own = self._txn_write(key, start_ts)
                    if own is not None:
                        raise Aborted(f"PessimisticLockRolledBack {{ start_ts: {start_ts}, key: {key!r} }}")
                    newest = self._newest_write(key)
                    if newest is not None and newest.commit_ts > for_update_ts:
                        raise WriteConflict(key, start_ts, newest, primary)
                values.append(self._value_at(key, 1 << 64))
            for key in keys:
                lock = self._locks.get(key)
                if lock is None:
                    self._locks[key] = Lock(
                        primary, start_ts, ttl, Op.PESSIMISTIC_LOCK, for_update_ts=for_update_ts
                    )
                    self._touch(key)
                elif lock.op is Op.PESSIMISTIC_LOCK and lock.for_update_ts < for_update_ts:
                    self._locks[key] = replace(lock, for_update_ts=for_update_ts)
        return values

    def pessimistic_rollback(self, keys: Iterable[bytes], start_ts: int, for_update_ts: int) -> None:
        with self._mu:
            for key in keys:
                lock = self._locks.get(key)
                if (
                    lock is not None
                    and lock.start_ts == start_ts
                    and lock.op is Op.PESSIMISTIC_LOCK
                    and lock.for_update_ts <= for_update_ts
                ):
                    del self._locks[key]
                    self._forget_if_empty(key)

    def txn_heartbeat(self, primary: bytes, start_ts: int, advise_ttl: int) -> int:
        with self._mu:
            lock = self._locks.get(primary)
            if lock is None or lock.start_ts != start_ts:
                raise TxnNotFound(primary, start_ts)
            if advise_ttl > lock.ttl:
                lock = replace(lock, ttl=advise_ttl)
                self._locks[primary] = lock
            return lock.ttl

    # ---- garbage collection ----
    def gc(self, safe_point: int) -> int:
        """Drop versions no reader at or after ``safe_point`` can see; returns how many were dropped."""
        dropped = 0
        with self._mu:
            for key in list(self._writes):
                writes = self._writes[key]
                keep = [w for w in writes if w.commit_ts > safe_point]
                older = [w for w in writes if w.commit_ts <= safe_point]
                newest_value = next((w for w in older if w.kind in (WriteKind.PUT, WriteKind.DELETE)), None)
                if newest_value is not None and newest_value.kind is WriteKind.PUT:
                    keep.append(newest_value)
                dropped += len(writes) - len(keep)
                self._writes[key] = keep
                self._forget_if_empty(key)
        return dropped
