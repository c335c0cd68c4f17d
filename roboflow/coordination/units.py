"""Work units and their state machine, enforced in transactions.

::

    Pending ──claim──→ Processing ──complete──→ Complete
       ↑                  │ ├─fail(retryable), attempts < max ──→ Pending   (checkpoint kept in the unit)
       │                  │ ├─fail(retryable), attempts ≥ max ──→ Dead
       │                  │ ├─fail(permanent: a user error) ────→ Failed
       │                  │ └─release / reaper ─────────────────→ Pending  (checkpoint kept)
       ├──────────────────┴──cancel──→ Cancelled
       └── requeue ── Failed | Dead

A claim increments ``attempts`` and records the worker (``owner``) and its lease epoch; it also writes the
worker's checkpoint key (resuming from the checkpoint the unit carries, if any). Every transition of a
claimed unit checks, in its transaction, that the unit is still Processing under this worker and epoch
and that the worker's lease is valid by the store's clock, and locks the lease key: a worker whose
lease was fenced by the reaper can never complete the unit somebody else now holds. A worker holds one
unit at a time: claiming another gives back the one it abandoned.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from roboflow.coordination.batches import read_phase
from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError, RecordNotFoundError
from roboflow.coordination.keys import checkpoint_key, phase_key, unit_key, units_prefix
from roboflow.coordination.leases import check_lease
from roboflow.coordination.records import (
    BatchPhase,
    CheckpointState,
    PhaseRecord,
    UnitState,
    WorkUnit,
    decode,
    encode,
)
from roboflow.coordination.store import StateStore, Transaction, run_transaction
from roboflow.coordination.workers import WorkerSession

__all__ = [
    "UNIT_TRANSITIONS",
    "Claim",
    "UnitSpec",
    "add_units",
    "cancel_unit",
    "claim_next",
    "claim_unit",
    "complete_unit",
    "fail_unit",
    "forget_units",
    "get_unit",
    "list_units",
    "mark_queued",
    "release_unit",
    "requeue_unit",
]

_S = UnitState
#: state → states it may move to.
UNIT_TRANSITIONS: dict[UnitState, frozenset[UnitState]] = {
    _S.PENDING: frozenset({_S.PROCESSING, _S.CANCELLED}),
    _S.PROCESSING: frozenset({_S.COMPLETE, _S.PENDING, _S.FAILED, _S.DEAD, _S.CANCELLED}),
    _S.FAILED: frozenset({_S.PENDING}),
    _S.DEAD: frozenset({_S.PENDING}),
    _S.COMPLETE: frozenset(),
    _S.CANCELLED: frozenset(),
}
_ADD_CHUNK = 256
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A unit to create: one recording."""

    unit_id: str
    source_url: str
    size_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """A unit this worker holds, and the checkpoint to resume from."""

    unit: WorkUnit
    checkpoint: CheckpointState


def _unit(batch_id: str, unit_id: str, raw: bytes | None) -> WorkUnit:
    """Decode the unit read at its key (None: it does not exist)."""
    key = unit_key(batch_id, unit_id)
    if raw is None:
        raise RecordNotFoundError(f"no unit {unit_id!r} in batch {batch_id!r}", path=key)
    return decode(WorkUnit, raw, key=key)


def _read_unit(txn: Transaction, batch_id: str, unit_id: str) -> WorkUnit:
    return _unit(batch_id, unit_id, txn.get(unit_key(batch_id, unit_id)))


def _move(txn: Transaction, unit: WorkUnit, state: UnitState, **changes: Any) -> WorkUnit:
    if state not in UNIT_TRANSITIONS[unit.state]:
        raise IllegalTransitionError(
            f"unit {unit.unit_id!r} of batch {unit.batch_id!r} cannot go from {unit.state.value} to {state.value}",
            current=unit.state,
            path=unit_key(unit.batch_id, unit.unit_id),
        )
    moved = replace(unit, state=state, updated_at_ms=txn.now_ms(), **changes)
    txn.put(unit_key(unit.batch_id, unit.unit_id), encode(moved))
    return moved


def _held(unit: WorkUnit, session: WorkerSession) -> bool:
    return unit.owner == session.pod_id and unit.lease_epoch == session.lease.epoch


def _take_checkpoint(
    txn: Transaction, pod_id: str, unit: WorkUnit, raw: bytes | None
) -> CheckpointState | None:
    """Remove the worker's checkpoint if it is about ``unit``, returning it."""
    key = checkpoint_key(pod_id)
    if raw is None:
        return None
    checkpoint = decode(CheckpointState, raw, key=key)
    if (checkpoint.batch_id, checkpoint.unit_id) != (unit.batch_id, unit.unit_id):
        return None
    txn.delete(key)
    return checkpoint


def give_back(
    txn: Transaction, unit: WorkUnit, checkpoint: CheckpointState | None, *, count: bool
) -> WorkUnit:
    """Processing → Pending (or Dead once attempts are used up), keeping the newest checkpoint.

    ``count=False`` (a voluntary release) does not count the claim against ``max_attempts``.
    """
    kept = checkpoint or unit.checkpoint
    if count and unit.attempts >= unit.max_attempts:
        return _move(txn, unit, UnitState.DEAD, checkpoint=kept)
    attempts = unit.attempts if count else max(unit.attempts - 1, 0)
    return _move(txn, unit, UnitState.PENDING, owner=None, lease_epoch=0, attempts=attempts, checkpoint=kept)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter), without materialising them all."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# ---- creation and reading ----
def add_units(store: StateStore, batch_id: str, specs: Iterable[UnitSpec], *, max_attempts: int = 3) -> int:
    """Create Pending units (existing ones are left alone); returns how many were new.

    Raises:
        IllegalTransitionError: The batch is past Running (no new units).
    """
    created = 0
    for chunk in chunked(specs, _ADD_CHUNK):

        def add(txn: Transaction, chunk: list[UnitSpec] = chunk) -> int:
            phase = read_phase(txn, batch_id).phase
            if phase not in (BatchPhase.PENDING, BatchPhase.DISCOVERING, BatchPhase.RUNNING):
                raise IllegalTransitionError(
                    f"batch {batch_id!r} is {phase.value}: no new units", current=phase
                )
            keys = [unit_key(batch_id, s.unit_id) for s in chunk]
            existing = txn.get_many(keys)
            now = txn.now_ms()
            for key, spec in zip(keys, chunk, strict=True):
                if key not in existing:
                    unit = WorkUnit(
                        batch_id,
                        spec.unit_id,
                        spec.source_url,
                        spec.size_bytes,
                        max_attempts=max_attempts,
                        updated_at_ms=now,
                        queued_at_ms=now,
                    )
                    txn.put(key, encode(unit))
            return len(chunk) - len(existing)

        created += run_transaction(store, add)
    return created


def mark_queued(store: StateStore, batch_id: str, unit_ids: Iterable[str]) -> int:
    """Record that a message was just sent for each of these units that is still Pending; returns how many.

    Not a transition: only ``queued_at_ms`` changes, so the reconciler waits again before re-sending.
    """
    marked = 0
    for chunk in chunked(unit_ids, _ADD_CHUNK):
        keys = [unit_key(batch_id, unit_id) for unit_id in chunk]

        def mark(txn: Transaction, keys: list[str] = keys) -> int:
            now, count = txn.now_ms(), 0
            for key, raw in txn.get_many(keys).items():
                unit = decode(WorkUnit, raw, key=key)
                if unit.state is UnitState.PENDING:
                    txn.put(key, encode(replace(unit, queued_at_ms=now)))
                    count += 1
            return count

        marked += run_transaction(store, mark)
    return marked


def forget_units(store: StateStore, batch_id: str, unit_ids: Iterable[str]) -> None:
    """Delete these units' records (a local run drops the unit of an input that changed; it is then added anew)."""
    for chunk in chunked(unit_ids, _ADD_CHUNK):

        def forget(txn: Transaction, chunk: list[str] = chunk) -> None:
            for unit_id in chunk:
                txn.delete(unit_key(batch_id, unit_id))

        run_transaction(store, forget)


def get_unit(store: StateStore, batch_id: str, unit_id: str) -> WorkUnit:
    return run_transaction(store, lambda txn: _read_unit(txn, batch_id, unit_id), readonly=True)


def list_units(store: StateStore, batch_id: str, state: UnitState | None = None) -> list[WorkUnit]:
    """The batch's units in id order, optionally only those in ``state``."""

    def scan(txn: Transaction) -> list[WorkUnit]:
        units = [decode(WorkUnit, raw, key=key) for key, raw in txn.scan(units_prefix(batch_id))]
        return [u for u in units if state is None or u.state is state]

    return run_transaction(store, scan, readonly=True)


# ---- claims ----
def claim_unit(session: WorkerSession, batch_id: str, unit_id: str) -> Claim:
    """Pending → Processing for this worker (idempotent for the holder).

    Raises:
        IllegalTransitionError: The unit is not Pending (``err.current`` says what it is), or the batch
            is not Running.
        LeaseLostError: The worker's lease is no longer valid.
    """
    session.check()
    lease = session.lease
    key, ckpt_key = unit_key(batch_id, unit_id), checkpoint_key(session.pod_id)

    def claim(txn: Transaction) -> Claim:
        values = txn.get_many([key, phase_key(batch_id), lease.key, ckpt_key])
        unit = _unit(batch_id, unit_id, values.get(key))
        check_lease(txn, lease, prefetched=values)
        held_checkpoint = values.get(ckpt_key)
        if unit.state is UnitState.PROCESSING and _held(unit, session) and held_checkpoint is not None:
            checkpoint = decode(CheckpointState, held_checkpoint, key=ckpt_key)
            if (checkpoint.batch_id, checkpoint.unit_id) == (batch_id, unit_id):
                return Claim(unit, checkpoint)  # ours already: a retry after an ambiguous commit
        if unit.state is not UnitState.PENDING:
            raise IllegalTransitionError(
                f"unit {unit_id!r} is {unit.state.value}, not Pending", current=unit.state, path=key
            )
        phase = _phase(values, batch_id)
        if phase.phase is not BatchPhase.RUNNING:
            raise IllegalTransitionError(
                f"batch {batch_id!r} is {phase.phase.value}, not Running", current=phase.phase
            )
        if held_checkpoint is not None:
            _abandon(txn, session, held_checkpoint)
        claimed = _move(
            txn,
            unit,
            UnitState.PROCESSING,
            attempts=unit.attempts + 1,
            owner=session.pod_id,
            lease_epoch=lease.epoch,
            error=None,
        )
        checkpoint = unit.checkpoint or CheckpointState(batch_id, unit_id, checkpoint_time_ms=txn.now_ms())
        txn.put(ckpt_key, encode(checkpoint))
        return Claim(claimed, checkpoint)

    result = run_transaction(session.store, claim)
    session.set_activity(batch_id, unit_id)
    return result


def _phase(values: Mapping[str, bytes], batch_id: str) -> PhaseRecord:
    raw = values.get(phase_key(batch_id))
    if raw is None:
        raise RecordNotFoundError(f"no batch {batch_id!r}", path=phase_key(batch_id))
    return decode(PhaseRecord, raw, key=phase_key(batch_id))


def _abandon(txn: Transaction, session: WorkerSession, raw_checkpoint: bytes) -> None:
    """Give back the unit this worker's checkpoint names, if the worker still holds it."""
    checkpoint = decode(CheckpointState, raw_checkpoint, key=checkpoint_key(session.pod_id))
    try:
        unit = _read_unit(txn, checkpoint.batch_id, checkpoint.unit_id)
    except RecordNotFoundError:
        return
    if unit.state is UnitState.PROCESSING and _held(unit, session):
        give_back(txn, unit, checkpoint, count=False)


def claim_next(session: WorkerSession, batch_id: str) -> Claim | None:
    """Claim any Pending unit of the batch (starting at a random one to spread racing workers), or None."""
    pending = list_units(session.store, batch_id, UnitState.PENDING)
    if pending:
        start = random.randrange(len(pending))
        pending = pending[start:] + pending[:start]
    for unit in pending:
        try:
            return claim_unit(session, batch_id, unit.unit_id)
        except IllegalTransitionError as err:
            if isinstance(err.current, BatchPhase):
                raise
    return None


_Apply = Callable[[Transaction, WorkUnit, "bytes | None"], WorkUnit]


def _finish(
    session: WorkerSession,
    claim: Claim,
    apply: _Apply,
    *,
    done: Callable[[WorkUnit], bool] = lambda unit: False,
) -> WorkUnit:
    """Run a transition of a held unit: checks ownership and lease, then ``apply(txn, unit, raw_checkpoint)``.

    ``done(unit)`` recognises the transition already applied by an earlier, ambiguous attempt.
    """
    session.check()
    lease = session.lease
    unit_id, batch_id = claim.unit.unit_id, claim.unit.batch_id
    key, ckpt_key = unit_key(batch_id, unit_id), checkpoint_key(session.pod_id)

    def finish(txn: Transaction) -> WorkUnit:
        values = txn.get_many([key, lease.key, ckpt_key])
        unit = _unit(batch_id, unit_id, values.get(key))
        if done(unit):
            return unit
        if unit.state is not UnitState.PROCESSING or not _held(unit, session):
            raise LeaseLostError(
                f"unit {unit_id!r} is {unit.state.value} (owner {unit.owner}), no longer held by {session.pod_id}",
                path=key,
            )
        check_lease(txn, lease, prefetched=values)
        return apply(txn, unit, values.get(ckpt_key))

    result = run_transaction(session.store, finish)
    session.set_activity(None)
    return result


def complete_unit(session: WorkerSession, claim: Claim, result: Mapping[str, Any] | None = None) -> WorkUnit:
    """Processing → Complete with a small JSON-able result summary (idempotent for the holder).

    Raises:
        LeaseLostError: The unit is no longer held by this worker (reclaimed, cancelled) or its lease expired.
    """
    summary = dict(result or {})

    def apply(txn: Transaction, unit: WorkUnit, raw_ckpt: bytes | None) -> WorkUnit:
        _take_checkpoint(txn, session.pod_id, unit, raw_ckpt)
        return _move(txn, unit, UnitState.COMPLETE, result=summary, checkpoint=None, error=None)

    return _finish(session, claim, apply, done=lambda u: u.state is UnitState.COMPLETE and _held(u, session))


def fail_unit(session: WorkerSession, claim: Claim, error: str, *, retryable: bool = True) -> WorkUnit:
    """Record a failure: retryable → Pending (or Dead at ``max_attempts``); permanent → Failed.

    Raises:
        LeaseLostError: The unit is no longer held by this worker.
    """

    def apply(txn: Transaction, unit: WorkUnit, raw_ckpt: bytes | None) -> WorkUnit:
        checkpoint = _take_checkpoint(txn, session.pod_id, unit, raw_ckpt)
        if not retryable:
            return _move(txn, unit, UnitState.FAILED, error=error, checkpoint=checkpoint or unit.checkpoint)
        return give_back(txn, replace(unit, error=error), checkpoint, count=True)

    return _finish(session, claim, apply)


def release_unit(session: WorkerSession, claim: Claim) -> WorkUnit:
    """Give a held unit back (Pending, the claim not counted), e.g. on shutdown; the checkpoint is kept."""

    def apply(txn: Transaction, unit: WorkUnit, raw_ckpt: bytes | None) -> WorkUnit:
        return give_back(txn, unit, _take_checkpoint(txn, session.pod_id, unit, raw_ckpt), count=False)

    return _finish(session, claim, apply)


# ---- administrative transitions ----
def cancel_unit(store: StateStore, batch_id: str, unit_id: str) -> WorkUnit:
    """Pending or Processing → Cancelled (a holder's next transition then fails with LeaseLostError)."""

    def cancel(txn: Transaction) -> WorkUnit:
        unit = _read_unit(txn, batch_id, unit_id)
        return unit if unit.state is UnitState.CANCELLED else _move(txn, unit, UnitState.CANCELLED)

    return run_transaction(store, cancel)


def requeue_unit(store: StateStore, batch_id: str, unit_id: str) -> WorkUnit:
    """Failed or Dead → Pending with its attempts reset (an operator's retry)."""

    def requeue(txn: Transaction) -> WorkUnit:
        unit = _read_unit(txn, batch_id, unit_id)
        return _move(txn, unit, UnitState.PENDING, attempts=0, owner=None, lease_epoch=0)

    return run_transaction(store, requeue)
