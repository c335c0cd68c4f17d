"""Records and errors of the emulator's MVCC store (kvrpcpb enums, locks, write records, key errors)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "KIND_OF_OP",
    "PHYSICAL_SHIFT",
    "Aborted",
    "Action",
    "AlreadyExists",
    "KeyLocked",
    "Lock",
    "MvccError",
    "Op",
    "TxnLockNotFound",
    "TxnNotFound",
    "TxnStatus",
    "Write",
    "WriteConflict",
    "WriteKind",
    "physical_ms",
]

PHYSICAL_SHIFT = 18


def physical_ms(ts: int) -> int:
    """The physical (millisecond) part of a TSO timestamp."""
    return ts >> PHYSICAL_SHIFT


class Op(enum.IntEnum):
    """kvrpcpb.Op."""

    PUT = 0
    DEL = 1
    LOCK = 2
    ROLLBACK = 3
    INSERT = 4
    PESSIMISTIC_LOCK = 5
    CHECK_NOT_EXISTS = 6


class Action(enum.IntEnum):
    """kvrpcpb.Action: what check-txn-status did."""

    NO_ACTION = 0
    TTL_EXPIRE_ROLLBACK = 1
    LOCK_NOT_EXIST_ROLLBACK = 2
    TTL_EXPIRE_PESSIMISTIC_ROLLBACK = 4
    LOCK_NOT_EXIST_DO_NOTHING = 5


class WriteKind(enum.Enum):
    PUT = "put"
    DELETE = "delete"
    LOCK = "lock"
    ROLLBACK = "rollback"


KIND_OF_OP = {Op.PUT: WriteKind.PUT, Op.DEL: WriteKind.DELETE, Op.LOCK: WriteKind.LOCK}


@dataclass(frozen=True, slots=True)
class Lock:
    """A Percolator lock; ``op`` is PUT, DEL, LOCK or PESSIMISTIC_LOCK."""

    primary: bytes
    start_ts: int
    ttl: int
    op: Op
    value: bytes = b""
    for_update_ts: int = 0
    txn_size: int = 0
    min_commit_ts: int = 0

    def expired(self, current_ts: int) -> bool:
        return physical_ms(current_ts) >= physical_ms(self.start_ts) + self.ttl


@dataclass(frozen=True, slots=True)
class Write:
    start_ts: int
    commit_ts: int
    kind: WriteKind
    value: bytes = b""


@dataclass(frozen=True, slots=True)
class TxnStatus:
    """Answer of check-txn-status: ``(0, 0, None)`` rolled back, ``(ts, 0, None)`` committed, else locked."""

    lock_ttl: int
    commit_version: int
    action: Action
    lock: tuple[bytes, Lock] | None = None


class MvccError(Exception):
    """Base of the per-key errors the service layer turns into ``kvrpcpb.KeyError``."""


class KeyLocked(MvccError):
    def __init__(self, key: bytes, lock: Lock) -> None:
        super().__init__(f"key {key!r} is locked by txn {lock.start_ts}")
        self.key, self.lock = key, lock


class WriteConflict(MvccError):
    def __init__(self, key: bytes, start_ts: int, write: Write, primary: bytes) -> None:
        super().__init__(f"write conflict on {key!r}: txn {start_ts} vs commit {write.commit_ts}")
        self.key, self.start_ts, self.write, self.primary = key, start_ts, write, primary


class AlreadyExists(MvccError):
    def __init__(self, key: bytes) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class TxnLockNotFound(MvccError):
    def __init__(self, key: bytes, start_ts: int, commit_ts: int) -> None:
        super().__init__(f"TxnLockNotFound {{ start_ts: {start_ts}, commit_ts: {commit_ts}, key: {key!r} }}")


class TxnNotFound(MvccError):
    def __init__(self, primary: bytes, start_ts: int) -> None:
        super().__init__(f"TxnNotFound {{ start_ts: {start_ts}, primary_key: {primary!r} }}")
        self.primary, self.start_ts = primary, start_ts


class Aborted(MvccError):
    """An error TiKV reports in ``KeyError.abort`` (the client gives up the transaction)."""
