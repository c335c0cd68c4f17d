"""The reaper: gives the units of dead workers back to Pending, keeping their checkpoints.

A worker is *stale* when its heartbeat is older than ``heartbeat_timeout_s`` (or it reported Stopped)
**and** its lease has expired, both by the store's clock. For each stale worker still holding a unit (its
checkpoint key names the unit) the reaper, in one transaction: re-checks staleness, moves the unit back
to Pending (Dead once ``max_attempts`` claims were used) with the worker's checkpoint, deletes that
checkpoint key, fences the worker's lease (new epoch, no owner) so a zombie incarnation steps down, and
marks the heartbeat Lost. Every reclaim writes the worker's lease key, so a reclaim and a concurrent
renewal or completion by the worker cannot both commit, and many reapers racing (one per node) reclaim
each unit once. A pass reclaims at most ``max_reclaims`` units and forgets (deletes) the records of
workers gone longer than ``forget_after_s``.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial

from roboflow.coordination.errors import ConflictError
from roboflow.coordination.keys import (
    WORKER_PREFIX,
    checkpoint_key,
    heartbeat_key,
    unit_key,
    worker_lease_key,
    worker_of_key,
)
from roboflow.coordination.records import (
    CheckpointState,
    HeartbeatRecord,
    LockRecord,
    UnitState,
    WorkerStatus,
    WorkUnit,
    decode,
    encode,
)
from roboflow.coordination.store import StateStore, Transaction, run_transaction
from roboflow.coordination.units import give_back
from roboflow.coordination.workers import CoordinationConfig

__all__ = ["Reaper", "Reclaim"]

log = logging.getLogger(__name__)
_GONE = (WorkerStatus.STOPPED, WorkerStatus.LOST)


@dataclass(frozen=True, slots=True)
class Reclaim:
    """One unit taken from a stale worker."""

    pod_id: str
    batch_id: str
    unit_id: str
    state: UnitState  # Pending, or Dead when its attempts are used up
    attempts: int


class Reaper:
    """Safe to run on every node at once; call :meth:`reap_once` periodically (e.g. every few seconds)."""

    def __init__(
        self,
        store: StateStore,
        config: CoordinationConfig | None = None,
        *,
        max_reclaims: int = 16,
        forget_after_s: float = 86_400.0,
    ) -> None:
        self.store = store
        self.timeout_ms = int((config or CoordinationConfig()).heartbeat_timeout_s * 1000)
        self.max_reclaims = max_reclaims
        self.forget_after_ms = int(forget_after_s * 1000)

    def _stale(self, values: Mapping[str, bytes], pod_id: str, now_ms: int) -> bool:
        raw_beat, raw_lock = values.get(heartbeat_key(pod_id)), values.get(worker_lease_key(pod_id))
        beat = None if raw_beat is None else decode(HeartbeatRecord, raw_beat, key=heartbeat_key(pod_id))
        lock = None if raw_lock is None else decode(LockRecord, raw_lock, key=worker_lease_key(pod_id))
        silent = beat is None or beat.status in _GONE or now_ms - beat.last_seen_ms > self.timeout_ms
        return silent and (lock is None or lock.expires_ms <= now_ms)

    def reap_once(self) -> list[Reclaim]:
        """One pass: reclaim the units of up to ``max_reclaims`` stale workers."""

        def snapshot(txn: Transaction) -> tuple[dict[str, dict[str, bytes]], int]:
            workers: dict[str, dict[str, bytes]] = defaultdict(dict)
            for key, raw in txn.scan(WORKER_PREFIX):
                if (parsed := worker_of_key(key)) is not None:
                    workers[parsed[0]][key] = raw
            return workers, txn.now_ms()

        workers, now = run_transaction(self.store, snapshot, readonly=True)
        holding = [
            pod
            for pod, values in workers.items()
            if checkpoint_key(pod) in values and self._stale(values, pod, now)
        ]
        random.shuffle(holding)  # concurrent reapers start on different workers
        reclaimed: list[Reclaim] = []
        for pod_id in holding[: self.max_reclaims]:
            try:
                result = run_transaction(self.store, partial(self._reclaim, pod_id=pod_id))
            except ConflictError:
                continue  # another reaper (or the worker itself) keeps winning: leave it to them
            if result is not None:
                log.info("reclaimed unit %s/%s from stale worker %s", result.batch_id, result.unit_id, pod_id)
                reclaimed.append(result)
        gone = [pod for pod, values in workers.items() if self._forgettable(values, pod, now)]
        for pod_id in gone[: self.max_reclaims]:
            run_transaction(self.store, partial(self._forget, pod_id=pod_id))
        return reclaimed

    def reclaim_dead(self, pod_id: str) -> Reclaim | None:
        """Reclaim the unit of a worker known to be dead (its process is gone), without waiting for its
        heartbeat and lease to time out: ``roboflow convert`` does this for the workers of a killed run of
        the same output, which it knows are gone because it holds that output's run lock."""
        return run_transaction(self.store, partial(self._reclaim, pod_id=pod_id, dead=True))

    def _reclaim(self, txn: Transaction, pod_id: str, dead: bool = False) -> Reclaim | None:
        keys = [heartbeat_key(pod_id), worker_lease_key(pod_id), checkpoint_key(pod_id)]
        values = txn.get_many(keys)
        now = txn.now_ms()
        raw_ckpt = values.get(checkpoint_key(pod_id))
        if raw_ckpt is None or not (dead or self._stale(values, pod_id, now)):
            return None  # reclaimed by someone else meanwhile, or the worker came back
        checkpoint = decode(CheckpointState, raw_ckpt, key=checkpoint_key(pod_id))
        txn.delete(checkpoint_key(pod_id))
        self._fence(txn, values, pod_id, now)
        key = unit_key(checkpoint.batch_id, checkpoint.unit_id)
        raw_unit = txn.get(key)
        unit = None if raw_unit is None else decode(WorkUnit, raw_unit, key=key)
        if unit is None or unit.state is not UnitState.PROCESSING or unit.owner != pod_id:
            return None  # a stale pointer: the unit moved on without this worker
        moved = give_back(txn, unit, checkpoint, count=True)
        return Reclaim(pod_id, unit.batch_id, unit.unit_id, moved.state, moved.attempts)

    @staticmethod
    def _fence(txn: Transaction, values: Mapping[str, bytes], pod_id: str, now: int) -> None:
        raw_lock, raw_beat = values.get(worker_lease_key(pod_id)), values.get(heartbeat_key(pod_id))
        epoch = 0 if raw_lock is None else decode(LockRecord, raw_lock, key=worker_lease_key(pod_id)).epoch
        txn.put(
            worker_lease_key(pod_id),
            encode(LockRecord(owner="", epoch=epoch + 1, expires_ms=0, acquired_ms=now)),
        )
        if raw_beat is not None:
            beat = decode(HeartbeatRecord, raw_beat, key=heartbeat_key(pod_id))
            txn.put(heartbeat_key(pod_id), encode(replace(beat, status=WorkerStatus.LOST)))

    def _forgettable(self, values: Mapping[str, bytes], pod_id: str, now: int) -> bool:
        raw_beat = values.get(heartbeat_key(pod_id))
        if raw_beat is None or checkpoint_key(pod_id) in values:
            return False
        beat = decode(HeartbeatRecord, raw_beat, key=heartbeat_key(pod_id))
        return beat.status in _GONE and now - beat.last_seen_ms > self.forget_after_ms

    def _forget(self, txn: Transaction, pod_id: str) -> None:
        values = txn.get_many([heartbeat_key(pod_id), worker_lease_key(pod_id), checkpoint_key(pod_id)])
        if self._forgettable(values, pod_id, txn.now_ms()) and self._stale(values, pod_id, txn.now_ms()):
            txn.delete(heartbeat_key(pod_id))
            txn.delete(worker_lease_key(pod_id))
