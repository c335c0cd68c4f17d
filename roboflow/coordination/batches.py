"""Batches: the submitted spec and the phase state machine.

::

    Pending → Discovering → Running → Merging → Complete
       └──────────┴────────────┴─────────┴──→ Failed | Cancelled   (from any phase not yet final)

Every change is a compare-and-set in one transaction: read the phase, check it is the expected one and
that the move is allowed, verify the caller's lease if it acts under one (e.g. the merge), write the new
phase. Asking for the phase the batch is already in is a no-op, so a retried call is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from roboflow.coordination.errors import IllegalTransitionError, RecordNotFoundError
from roboflow.coordination.keys import ACTIVE_PREFIX, BATCH_PREFIX, active_key, batch_key, phase_key
from roboflow.coordination.leases import Lease, check_lease
from roboflow.coordination.records import BatchPhase, BatchSpec, PhaseRecord, decode, encode
from roboflow.coordination.store import StateStore, Transaction, run_transaction

__all__ = [
    "BATCH_TRANSITIONS",
    "FINAL_PHASES",
    "BatchStatus",
    "create_batch",
    "delete_batch",
    "get_batch",
    "list_active_batches",
    "list_batches",
    "read_phase",
    "set_phase",
]

FINAL_PHASES = _FINAL = frozenset({BatchPhase.COMPLETE, BatchPhase.FAILED, BatchPhase.CANCELLED})
_ABORT = frozenset({BatchPhase.FAILED, BatchPhase.CANCELLED})

#: phase → phases it may move to.
BATCH_TRANSITIONS: dict[BatchPhase, frozenset[BatchPhase]] = {
    BatchPhase.PENDING: frozenset({BatchPhase.DISCOVERING}) | _ABORT,
    BatchPhase.DISCOVERING: frozenset({BatchPhase.RUNNING}) | _ABORT,
    BatchPhase.RUNNING: frozenset({BatchPhase.MERGING}) | _ABORT,
    BatchPhase.MERGING: frozenset({BatchPhase.COMPLETE}) | _ABORT,
    **{phase: frozenset() for phase in _FINAL},
}


@dataclass(frozen=True, slots=True)
class BatchStatus:
    spec: BatchSpec
    phase: PhaseRecord


def read_phase(txn: Transaction, batch_id: str) -> PhaseRecord:
    """The batch's phase record inside ``txn``.

    Raises:
        RecordNotFoundError: No such batch.
    """
    key = phase_key(batch_id)
    raw = txn.get(key)
    if raw is None:
        raise RecordNotFoundError(f"no batch {batch_id!r}", path=key)
    return decode(PhaseRecord, raw, key=key)


def create_batch(store: StateStore, spec: BatchSpec) -> BatchStatus:
    """Record a new batch in phase Pending; the same spec again is a no-op (returns the current status).

    Raises:
        IllegalTransitionError: A different batch with this id exists.
    """
    key = batch_key(spec.batch_id)

    def create(txn: Transaction) -> BatchStatus:
        raw = txn.get(key)
        if raw is not None:
            existing = decode(BatchSpec, raw, key=key)
            phase = read_phase(txn, spec.batch_id)
            if existing != spec:
                raise IllegalTransitionError(
                    f"batch {spec.batch_id!r} exists with a different spec", current=phase.phase, path=key
                )
            return BatchStatus(existing, phase)
        phase = PhaseRecord(BatchPhase.PENDING, changed_at_ms=txn.now_ms())
        txn.put(key, encode(spec))
        txn.put(phase_key(spec.batch_id), encode(phase))
        txn.put(active_key(spec.batch_id), b"")
        return BatchStatus(spec, phase)

    return run_transaction(store, create)


def delete_batch(store: StateStore, batch_id: str) -> int:
    """Delete every record of the batch (spec, phase, lease, units); returns how many keys went.

    For a run that is discarded as a whole (``roboflow convert --restart``, or one whose config changed).
    """
    key = batch_key(batch_id)

    def delete(txn: Transaction) -> int:
        keys = [k for k, _ in txn.scan(key + "/")]
        keys += [k for k in (key, active_key(batch_id)) if txn.get(k) is not None]
        for k in keys:
            txn.delete(k)
        return len(keys)

    return run_transaction(store, delete)


def get_batch(store: StateStore, batch_id: str) -> BatchStatus:
    """Spec and phase of a batch.

    Raises:
        RecordNotFoundError: No such batch.
    """
    key = batch_key(batch_id)

    def read(txn: Transaction) -> BatchStatus:
        raw = txn.get(key)
        if raw is None:
            raise RecordNotFoundError(f"no batch {batch_id!r}", path=key)
        return BatchStatus(decode(BatchSpec, raw, key=key), read_phase(txn, batch_id))

    return run_transaction(store, read, readonly=True)


def list_batches(store: StateStore) -> list[str]:
    """Ids of every batch, sorted (scans the batch keys, units included: meant for tools, not hot paths)."""

    def scan(txn: Transaction) -> list[str]:
        ids = []
        for key, _ in txn.scan(BATCH_PREFIX):
            rest = key[len(BATCH_PREFIX) :]
            if "/" not in rest:
                ids.append(rest)
        return ids

    return run_transaction(store, scan, readonly=True)


def list_active_batches(store: StateStore) -> list[str]:
    """Ids of the batches not yet final, sorted (one short scan, whatever the number of finished batches)."""

    def scan(txn: Transaction) -> list[str]:
        return [key[len(ACTIVE_PREFIX) :] for key, _ in txn.scan(ACTIVE_PREFIX)]

    return run_transaction(store, scan, readonly=True)


def set_phase(
    store: StateStore,
    batch_id: str,
    phase: BatchPhase,
    *,
    expected: BatchPhase | None = None,
    lease: Lease | None = None,
    message: str = "",
) -> PhaseRecord:
    """Move the batch to ``phase`` (a no-op if it is there already).

    Args:
        store: The state store.
        batch_id: The batch.
        phase: The new phase.
        expected: If given, the phase the batch must be in (compare-and-set).
        lease: If given, a lease that must still be held; its key joins the transaction's write set.
        message: Why (kept in the phase record; e.g. the error of a Failed batch).

    Raises:
        IllegalTransitionError: The current phase is not ``expected`` or cannot move to ``phase``.
        LeaseLostError: ``lease`` is no longer held.
        RecordNotFoundError: No such batch.
    """

    def change(txn: Transaction) -> PhaseRecord:
        current = read_phase(txn, batch_id)
        if current.phase is phase:
            return current
        if expected is not None and current.phase is not expected:
            raise IllegalTransitionError(
                f"batch {batch_id!r} is {current.phase.value}, expected {expected.value}",
                current=current.phase,
                path=phase_key(batch_id),
            )
        if phase not in BATCH_TRANSITIONS[current.phase]:
            raise IllegalTransitionError(
                f"batch {batch_id!r} cannot go from {current.phase.value} to {phase.value}",
                current=current.phase,
                path=phase_key(batch_id),
            )
        if lease is not None:
            check_lease(txn, lease)
        record = PhaseRecord(phase, changed_at_ms=txn.now_ms(), message=message)
        txn.put(phase_key(batch_id), encode(record))
        if phase in _FINAL:
            txn.delete(active_key(batch_id))
        return record

    return run_transaction(store, change)
