"""TiKV of the emulator: ``tikvpb.Tikv`` handlers over :class:`~.mvcc.Mvcc` (transactional) and a dict (raw)."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from typing import Any

from .mvcc import (
    Aborted,
    AlreadyExists,
    KeyLocked,
    Lock,
    Mvcc,
    MvccError,
    Op,
    TxnLockNotFound,
    TxnNotFound,
    WriteConflict,
)
from .proto import pb

__all__ = ["KvService", "RawStore"]


def lock_info(key: bytes, lock: Lock) -> Any:
    return pb.LockInfo(
        primary_lock=lock.primary,
        lock_version=lock.start_ts,
        key=key,
        lock_ttl=lock.ttl,
        txn_size=lock.txn_size,
        lock_type=int(lock.op),
        lock_for_update_ts=lock.for_update_ts,
        min_commit_ts=lock.min_commit_ts,
    )


def key_error(err: MvccError) -> Any:
    """``kvrpcpb.KeyError`` for an MVCC error, filled the way TiKV fills it."""
    if isinstance(err, KeyLocked):
        return pb.KeyError(locked=lock_info(err.key, err.lock))
    if isinstance(err, WriteConflict):
        conflict = pb.WriteConflict(
            start_ts=err.start_ts,
            conflict_ts=err.write.start_ts,
            conflict_commit_ts=err.write.commit_ts,
            key=err.key,
            primary=err.primary,
        )
        return pb.KeyError(conflict=conflict)
    if isinstance(err, AlreadyExists):
        return pb.KeyError(already_exist=pb.AlreadyExist(key=err.key))
    if isinstance(err, TxnNotFound):
        return pb.KeyError(txn_not_found=pb.TxnNotFound(start_ts=err.start_ts, primary_key=err.primary))
    if isinstance(err, TxnLockNotFound):
        return pb.KeyError(retryable=str(err))
    if isinstance(err, Aborted):
        return pb.KeyError(abort=str(err))
    raise TypeError(f"unmapped MVCC error {err!r}")


class RawStore:
    """The raw key space (never mixed with the transactional one, as with API v1 on a real cluster)."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        with self._mu:
            return self._data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        with self._mu:
            if key not in self._data:
                bisect.insort(self._keys, key)
            self._data[key] = value

    def delete(self, key: bytes) -> None:
        with self._mu:
            if self._data.pop(key, None) is not None:
                self._keys.remove(key)

    def range(self, start: bytes, end: bytes) -> list[bytes]:
        with self._mu:
            lo = bisect.bisect_left(self._keys, start)
            hi = bisect.bisect_left(self._keys, end) if end else len(self._keys)
            return self._keys[lo:hi]


class KvService:
    """Handlers of ``tikvpb.Tikv`` (all unary)."""

    def __init__(self, mvcc: Mvcc) -> None:
        self.mvcc = mvcc
        self.raw = RawStore()

    # ---- transactional reads ----
    def KvGet(self, req: Any, ctx: Any) -> Any:
        try:
            value = self.mvcc.get(req.key, req.version)
        except MvccError as err:
            return pb.GetResponse(error=key_error(err))
        return pb.GetResponse(value=value or b"", not_found=value is None)

    def KvBatchGet(self, req: Any, ctx: Any) -> Any:
        pairs = [
            pb.KvPair(key=key, error=key_error(err)) if err else pb.KvPair(key=key, value=value)
            for key, value, err in self.mvcc.batch_get(req.keys, req.version)
            if err or value is not None
        ]
        return pb.BatchGetResponse(pairs=pairs)

    def KvScan(self, req: Any, ctx: Any) -> Any:
        if req.reverse:
            return pb.ScanResponse(error=pb.KeyError(abort="reverse scan is not served by the emulator"))
        pairs = [
            pb.KvPair(key=key, error=key_error(err))
            if err
            else pb.KvPair(key=key, value=b"" if req.key_only else value)
            for key, value, err in self.mvcc.scan(req.start_key, req.end_key, req.limit, req.version)
        ]
        return pb.ScanResponse(pairs=pairs)

    # ---- two-phase commit ----
    def KvPrewrite(self, req: Any, ctx: Any) -> Any:
        mutations = [(Op(m.op), m.key, m.value) for m in req.mutations]
        try:
            locked = self.mvcc.prewrite(
                mutations,
                req.primary_lock,
                req.start_version,
                req.lock_ttl,
                list(req.is_pessimistic_lock),
                for_update_ts=req.for_update_ts,
                txn_size=req.txn_size,
            )
        except MvccError as err:
            return pb.PrewriteResponse(errors=[key_error(err)])
        return pb.PrewriteResponse(errors=[key_error(e) for e in locked], min_commit_ts=0, one_pc_commit_ts=0)

    def KvCommit(self, req: Any, ctx: Any) -> Any:
        try:
            self.mvcc.commit(req.keys, req.start_version, req.commit_version)
        except MvccError as err:
            return pb.CommitResponse(error=key_error(err))
        return pb.CommitResponse(commit_version=req.commit_version)

    def KvBatchRollback(self, req: Any, ctx: Any) -> Any:
        try:
            self.mvcc.batch_rollback(req.keys, req.start_version)
        except MvccError as err:
            return pb.BatchRollbackResponse(error=key_error(err))
        return pb.BatchRollbackResponse()

    def KvCleanup(self, req: Any, ctx: Any) -> Any:
        try:
            commit = self.mvcc.cleanup(req.key, req.start_version, req.current_ts)
        except MvccError as err:
            return pb.CleanupResponse(error=key_error(err))
        return pb.CleanupResponse(commit_version=commit)

    def KvResolveLock(self, req: Any, ctx: Any) -> Any:
        txns = {info.txn: info.status for info in req.txn_infos} or {req.start_version: req.commit_version}
        try:
            self.mvcc.resolve(txns, list(req.keys))
        except MvccError as err:
            return pb.ResolveLockResponse(error=key_error(err))
        return pb.ResolveLockResponse()

    def KvScanLock(self, req: Any, ctx: Any) -> Any:
        locks = self.mvcc.scan_lock(req.max_version, req.start_key, req.end_key, req.limit)
        return pb.ScanLockResponse(locks=[lock_info(key, lock) for key, lock in locks])

    def KvCheckTxnStatus(self, req: Any, ctx: Any) -> Any:
        try:
            status = self.mvcc.check_txn_status(
                req.primary_key,
                req.lock_ts,
                req.current_ts,
                rollback_if_not_exist=req.rollback_if_not_exist,
                resolving_pessimistic_lock=req.resolving_pessimistic_lock,
            )
        except MvccError as err:
            return pb.CheckTxnStatusResponse(error=key_error(err))
        response = pb.CheckTxnStatusResponse(
            lock_ttl=status.lock_ttl, commit_version=status.commit_version, action=int(status.action)
        )
        if status.lock is not None:
            response.lock_info.CopyFrom(lock_info(*status.lock))
        return response

    def KvCheckSecondaryLocks(self, req: Any, ctx: Any) -> Any:
        try:
            locks, commit_ts = self.mvcc.check_secondary_locks(req.keys, req.start_version)
        except MvccError as err:
            return pb.CheckSecondaryLocksResponse(error=key_error(err))
        return pb.CheckSecondaryLocksResponse(
            locks=[lock_info(k, lock) for k, lock in locks], commit_ts=commit_ts
        )

    # ---- pessimistic transactions ----
    def KvPessimisticLock(self, req: Any, ctx: Any) -> Any:
        keys = [m.key for m in req.mutations]
        try:
            values = self.mvcc.pessimistic_lock(
                keys, req.primary_lock, req.start_version, req.lock_ttl, req.for_update_ts
            )
        except MvccError as err:
            return pb.PessimisticLockResponse(errors=[key_error(err)])
        if not req.return_values:
            return pb.PessimisticLockResponse()
        return pb.PessimisticLockResponse(
            values=[v or b"" for v in values], not_founds=[v is None for v in values]
        )

    def KVPessimisticRollback(self, req: Any, ctx: Any) -> Any:
        self.mvcc.pessimistic_rollback(req.keys, req.start_version, req.for_update_ts)
        return pb.PessimisticRollbackResponse()

    def KvTxnHeartBeat(self, req: Any, ctx: Any) -> Any:
        try:
            ttl = self.mvcc.txn_heartbeat(req.primary_lock, req.start_version, req.advise_lock_ttl)
        except MvccError as err:
            return pb.TxnHeartBeatResponse(error=key_error(err))
        return pb.TxnHeartBeatResponse(lock_ttl=ttl)

    # ---- raw ----
    def RawGet(self, req: Any, ctx: Any) -> Any:
        value = self.raw.get(req.key)
        return pb.RawGetResponse(value=value or b"", not_found=value is None)

    def RawBatchGet(self, req: Any, ctx: Any) -> Any:
        pairs = [(k, self.raw.get(k)) for k in req.keys]
        return pb.RawBatchGetResponse(pairs=[pb.KvPair(key=k, value=v) for k, v in pairs if v is not None])

    def RawPut(self, req: Any, ctx: Any) -> Any:
        self.raw.put(req.key, req.value)
        return pb.RawPutResponse()

    def RawBatchPut(self, req: Any, ctx: Any) -> Any:
        for pair in req.pairs:
            self.raw.put(pair.key, pair.value)
        return pb.RawBatchPutResponse()

    def RawDelete(self, req: Any, ctx: Any) -> Any:
        self.raw.delete(req.key)
        return pb.RawDeleteResponse()

    def RawBatchDelete(self, req: Any, ctx: Any) -> Any:
        for key in req.keys:
            self.raw.delete(key)
        return pb.RawBatchDeleteResponse()

    def RawScan(self, req: Any, ctx: Any) -> Any:
        keys = self.raw.range(req.start_key, req.end_key)
        keys = keys[: req.limit] if req.limit else keys
        kvs = [pb.KvPair(key=k, value=b"" if req.key_only else (self.raw.get(k) or b"")) for k in keys]
        return pb.RawScanResponse(kvs=kvs)

    def RawDeleteRange(self, req: Any, ctx: Any) -> Any:
        for key in self.raw.range(req.start_key, req.end_key):
            self.raw.delete(key)
        return pb.RawDeleteRangeResponse()

    def handlers(self) -> dict[str, tuple[str, Callable[..., Any], Any, Any]]:
        """Method name → (kind, function, request class, response class)."""
        table = {
            "KvGet": (pb.GetRequest, pb.GetResponse),
            "KvBatchGet": (pb.BatchGetRequest, pb.BatchGetResponse),
            "KvScan": (pb.ScanRequest, pb.ScanResponse),
            "KvPrewrite": (pb.PrewriteRequest, pb.PrewriteResponse),
            "KvCommit": (pb.CommitRequest, pb.CommitResponse),
            "KvBatchRollback": (pb.BatchRollbackRequest, pb.BatchRollbackResponse),
            "KvCleanup": (pb.CleanupRequest, pb.CleanupResponse),
            "KvResolveLock": (pb.ResolveLockRequest, pb.ResolveLockResponse),
            "KvScanLock": (pb.ScanLockRequest, pb.ScanLockResponse),
            "KvCheckTxnStatus": (pb.CheckTxnStatusRequest, pb.CheckTxnStatusResponse),
            "KvCheckSecondaryLocks": (pb.CheckSecondaryLocksRequest, pb.CheckSecondaryLocksResponse),
            "KvPessimisticLock": (pb.PessimisticLockRequest, pb.PessimisticLockResponse),
            "KVPessimisticRollback": (pb.PessimisticRollbackRequest, pb.PessimisticRollbackResponse),
            "KvTxnHeartBeat": (pb.TxnHeartBeatRequest, pb.TxnHeartBeatResponse),
            "RawGet": (pb.RawGetRequest, pb.RawGetResponse),
            "RawBatchGet": (pb.RawBatchGetRequest, pb.RawBatchGetResponse),
            "RawPut": (pb.RawPutRequest, pb.RawPutResponse),
            "RawBatchPut": (pb.RawBatchPutRequest, pb.RawBatchPutResponse),
            "RawDelete": (pb.RawDeleteRequest, pb.RawDeleteResponse),
            "RawBatchDelete": (pb.RawBatchDeleteRequest, pb.RawBatchDeleteResponse),
            "RawScan": (pb.RawScanRequest, pb.RawScanResponse),
            "RawDeleteRange": (pb.RawDeleteRangeRequest, pb.RawDeleteRangeResponse),
        }
        return {name: ("unary", getattr(self, name), req, resp) for name, (req, resp) in table.items()}
