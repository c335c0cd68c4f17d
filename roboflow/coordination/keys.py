"""The key layout of the control plane, in one place (the seed's layout, plus two keys it lacks).

::

    roboflow/batch/{batch_id}                 BatchSpec
    roboflow/batch/{batch_id}/phase           PhaseRecord (the batch's phase)
    roboflow/batch/{batch_id}/lock            LockRecord  (lease of whoever drives the batch, e.g. the merge)
    roboflow/batch/{batch_id}/units/{unit_id} WorkUnit
    roboflow/worker/{pod_id}/heartbeat        HeartbeatRecord
    roboflow/worker/{pod_id}/lock             LockRecord  (the worker's lease; fences a stale incarnation)
    roboflow/worker/{pod_id}/checkpoint       CheckpointState (progress in the unit the worker holds)
    roboflow/active/{batch_id}                (empty) the batch is not final yet: what the reconciler scans
    roboflow/meta/gc                          last MVCC garbage collection (TiKV only)
    roboflow/meta/reconciler                  LockRecord  (lease of the reconciler leader)

Ids are single path segments: non-empty, at most 200 characters, no ``/`` and no control characters.
"""

from __future__ import annotations

from roboflow.coordination.errors import InvalidIdError

__all__ = [
    "ACTIVE_PREFIX",
    "BATCH_PREFIX",
    "GC_KEY",
    "RECONCILER_KEY",
    "WORKER_PREFIX",
    "active_key",
    "batch_key",
    "batch_lease_key",
    "checkpoint_key",
    "heartbeat_key",
    "phase_key",
    "unit_key",
    "units_prefix",
    "validate_id",
    "worker_lease_key",
    "worker_of_key",
]

ROOT = "roboflow"
BATCH_PREFIX = f"{ROOT}/batch/"
WORKER_PREFIX = f"{ROOT}/worker/"
ACTIVE_PREFIX = f"{ROOT}/active/"
GC_KEY = f"{ROOT}/meta/gc"
RECONCILER_KEY = f"{ROOT}/meta/reconciler"
_MAX_ID = 200


def validate_id(kind: str, value: str) -> str:
    """Return ``value`` if it can be one key segment, else raise :class:`InvalidIdError`."""
    if not value or len(value) > _MAX_ID or "/" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidIdError(
            f"invalid {kind} id {value!r}",
            hint=f"use 1-{_MAX_ID} printable characters without '/'",
        )
    return value


def batch_key(batch_id: str) -> str:
    return BATCH_PREFIX + validate_id("batch", batch_id)


def active_key(batch_id: str) -> str:
    return ACTIVE_PREFIX + validate_id("batch", batch_id)


def phase_key(batch_id: str) -> str:
    return batch_key(batch_id) + "/phase"


def batch_lease_key(batch_id: str) -> str:
    return batch_key(batch_id) + "/lock"


def units_prefix(batch_id: str) -> str:
    return batch_key(batch_id) + "/units/"


def unit_key(batch_id: str, unit_id: str) -> str:
    return units_prefix(batch_id) + validate_id("unit", unit_id)


def _worker_key(pod_id: str, leaf: str) -> str:
    return f"{WORKER_PREFIX}{validate_id('worker', pod_id)}/{leaf}"


def heartbeat_key(pod_id: str) -> str:
    return _worker_key(pod_id, "heartbeat")


def worker_lease_key(pod_id: str) -> str:
    return _worker_key(pod_id, "lock")


def checkpoint_key(pod_id: str) -> str:
    return _worker_key(pod_id, "checkpoint")


def worker_of_key(key: str) -> tuple[str, str] | None:
    """``(pod_id, leaf)`` for a key under ``roboflow/worker/``, else None."""
    if not key.startswith(WORKER_PREFIX):
        return None
    pod_id, _, leaf = key[len(WORKER_PREFIX) :].partition("/")
    return (pod_id, leaf) if pod_id and leaf else None
