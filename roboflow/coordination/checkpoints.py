"""Checkpoints: progress within a unit, so a new owner resumes instead of starting over.

The worker's checkpoint lives at ``roboflow/worker/{pod_id}/checkpoint`` (the seed's layout). The claim
writes it before processing starts (from the checkpoint the unit carries, if a previous owner left one);
:class:`Checkpointer` rewrites it every N frames or S seconds; when the unit goes back to Pending (failure,
release, reaper) the newest checkpoint moves into the unit record, and the next claim hands it over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from roboflow.coordination.errors import LeaseLostError
from roboflow.coordination.keys import checkpoint_key, unit_key
from roboflow.coordination.leases import check_lease
from roboflow.coordination.records import CheckpointState, UnitState, WorkUnit, decode, encode
from roboflow.coordination.store import StateStore, Transaction, run_transaction
from roboflow.coordination.units import Claim
from roboflow.coordination.workers import WorkerSession

__all__ = ["Checkpointer", "load_checkpoint", "save_checkpoint"]


def save_checkpoint(
    session: WorkerSession,
    claim: Claim,
    *,
    frame_index: int,
    episode_index: int,
    data: Mapping[str, Any] | None = None,
) -> CheckpointState:
    """Persist progress in the claimed unit (only while this worker still holds it).

    Raises:
        LeaseLostError: The unit or the worker's lease is no longer held: stop working on the unit.
    """
    session.check()
    lease = session.lease
    batch_id, unit_id = claim.unit.batch_id, claim.unit.unit_id
    key = unit_key(batch_id, unit_id)

    def save(txn: Transaction) -> CheckpointState:
        values = txn.get_many([key, lease.key])
        raw = values.get(key)
        unit = None if raw is None else decode(WorkUnit, raw, key=key)
        if (
            unit is None
            or unit.state is not UnitState.PROCESSING
            or unit.owner != session.pod_id
            or unit.lease_epoch != lease.epoch
        ):
            raise LeaseLostError(
                f"unit {unit_id!r} of batch {batch_id!r} is no longer held by {session.pod_id}", path=key
            )
        check_lease(txn, lease, prefetched=values)
        state = CheckpointState(batch_id, unit_id, frame_index, episode_index, txn.now_ms(), dict(data or {}))
        txn.put(checkpoint_key(session.pod_id), encode(state))
        return state

    return run_transaction(session.store, save)


def load_checkpoint(store: StateStore, pod_id: str) -> CheckpointState | None:
    """The worker's current checkpoint, if it holds a unit."""
    key = checkpoint_key(pod_id)

    def load(txn: Transaction) -> CheckpointState | None:
        raw = txn.get(key)
        return None if raw is None else decode(CheckpointState, raw, key=key)

    return run_transaction(store, load, readonly=True)


class Checkpointer:
    """Decides when to save: every ``every_frames`` frames or ``every_s`` seconds, whichever comes first.

    ``resume`` is where processing should start (the claim's checkpoint). Each :meth:`update` also checks
    the session, so a worker that lost its lease stops within one frame.
    """

    def __init__(
        self,
        session: WorkerSession,
        claim: Claim,
        *,
        every_frames: int = 1000,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.claim = claim
        self.every_frames = every_frames
        self.every_s = every_s
        self.resume = claim.checkpoint
        self._clock = clock
        self._saved_frame = claim.checkpoint.last_frame_index
        self._saved_at = clock()

    def update(self, frame_index: int, episode_index: int, data: Mapping[str, Any] | None = None) -> bool:
        """Report progress; returns True when this call saved a checkpoint."""
        self.session.check()
        due = (
            frame_index - self._saved_frame >= self.every_frames
            or self._clock() - self._saved_at >= self.every_s
        )
        if due:
            self.flush(frame_index, episode_index, data)
        return due

    def flush(
        self, frame_index: int, episode_index: int, data: Mapping[str, Any] | None = None
    ) -> CheckpointState:
        """Save now."""
        state = save_checkpoint(
            self.session, self.claim, frame_index=frame_index, episode_index=episode_index, data=data
        )
        self.resume = state
        self._saved_frame, self._saved_at = frame_index, self._clock()
        return state
