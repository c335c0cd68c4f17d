"""Checkpoints: saved under the claim, carried over to the next owner (both stores)."""

from __future__ import annotations

import pytest

from roboflow.coordination.checkpoints import Checkpointer, load_checkpoint, save_checkpoint
from roboflow.coordination.errors import LeaseLostError
from roboflow.coordination.units import cancel_unit, claim_unit, complete_unit, fail_unit, get_unit
from roboflow.coordination.workers import WorkerSession

from .conftest import BatchFactory
from .harness import Harness


def test_progress_survives_a_failure_and_is_handed_to_the_next_owner(
    harness: Harness, running_batch: BatchFactory
) -> None:
    store = harness.store
    batch = running_batch()
    with WorkerSession(store, "pod-1") as first:
        claim = claim_unit(first, batch, "u1")
        saved = save_checkpoint(first, claim, frame_index=120, episode_index=0, data={"byte_offset": 4096})
        assert load_checkpoint(store, "pod-1") == saved
        fail_unit(first, claim, "network reset")
        assert load_checkpoint(store, "pod-1") is None
    assert get_unit(store, batch, "u1").checkpoint == saved
    with WorkerSession(store, "pod-2") as second:
        resumed = claim_unit(second, batch, "u1")
        assert resumed.checkpoint == saved
        assert load_checkpoint(store, "pod-2") == saved  # written before processing starts
        complete_unit(second, resumed)
    assert get_unit(store, batch, "u1").checkpoint is None


def test_a_checkpoint_needs_the_unit(store: object, running_batch: BatchFactory, harness: Harness) -> None:
    batch = running_batch()
    with WorkerSession(harness.store, "pod-1") as session:
        claim = claim_unit(session, batch, "u1")
        cancel_unit(harness.store, batch, "u1")
        with pytest.raises(LeaseLostError, match="no longer held"):
            save_checkpoint(session, claim, frame_index=1, episode_index=0)


def test_checkpointer_saves_every_n_frames_or_seconds(harness: Harness, running_batch: BatchFactory) -> None:
    batch = running_batch()
    now = [0.0]
    with WorkerSession(harness.store, "pod-1") as session:
        claim = claim_unit(session, batch, "u1")
        cp = Checkpointer(session, claim, every_frames=10, every_s=5.0, clock=lambda: now[0])
        saved = [frame for frame in range(25) if cp.update(frame, 0)]
        assert saved == [9, 19]
        now[0] += 5.0
        assert cp.update(20, 0) is True  # the time limit, not the frame count
        assert load_checkpoint(harness.store, "pod-1").last_frame_index == 20  # type: ignore[union-attr]
        assert cp.resume.last_frame_index == 20
