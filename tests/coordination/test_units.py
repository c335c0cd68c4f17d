"""Work units: claims and the unit state machine, enforced in transactions (both stores)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roboflow.coordination.batches import set_phase
from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError, RecordNotFoundError
from roboflow.coordination.keys import checkpoint_key
from roboflow.coordination.records import BatchPhase, UnitState
from roboflow.coordination.store import StateStore, run_transaction
from roboflow.coordination.units import (
    cancel_unit,
    claim_next,
    claim_unit,
    complete_unit,
    fail_unit,
    get_unit,
    list_units,
    release_unit,
    requeue_unit,
)
from roboflow.coordination.workers import WorkerSession

from .conftest import BatchFactory
from .harness import Harness

S = UnitState


@pytest.fixture
def session(store: StateStore) -> Iterator[WorkerSession]:
    with WorkerSession(store, "pod-1") as s:
        yield s


@pytest.fixture
def other(store: StateStore) -> Iterator[WorkerSession]:
    with WorkerSession(store, "pod-2") as s:
        yield s


def test_claim_then_complete(store: StateStore, session: WorkerSession, running_batch: BatchFactory) -> None:
    batch = running_batch()
    claim = claim_unit(session, batch, "u1")
    assert (claim.unit.state, claim.unit.attempts, claim.unit.owner) == (S.PROCESSING, 1, "pod-1")
    assert claim.unit.lease_epoch == session.lease.epoch
    assert (claim.checkpoint.batch_id, claim.checkpoint.unit_id, claim.checkpoint.last_frame_index) == (
        batch,
        "u1",
        -1,
    )
    assert run_transaction(store, lambda txn: txn.get(checkpoint_key("pod-1")), readonly=True) is not None
    done = complete_unit(session, claim, {"frames": 42})
    assert (done.state, done.result, done.owner, done.checkpoint) == (
        S.COMPLETE,
        {"frames": 42},
        "pod-1",
        None,
    )
    assert complete_unit(session, claim, {"frames": 42}) == done  # idempotent for the holder
    assert get_unit(store, batch, "u1") == done
    assert run_transaction(store, lambda txn: txn.get(checkpoint_key("pod-1")), readonly=True) is None


def test_a_unit_is_claimed_once(
    session: WorkerSession, other: WorkerSession, running_batch: BatchFactory
) -> None:
    batch = running_batch()
    first = claim_unit(session, batch, "u1")
    assert claim_unit(session, batch, "u1") == first  # the holder's retry is harmless
    with pytest.raises(IllegalTransitionError, match="is Processing, not Pending") as info:
        claim_unit(other, batch, "u1")
    assert info.value.current is S.PROCESSING
    complete_unit(session, first)
    with pytest.raises(IllegalTransitionError, match="is Complete") as done:
        claim_unit(other, batch, "u1")
    assert done.value.current is S.COMPLETE


def test_only_running_batches_hand_out_units(
    store: StateStore, session: WorkerSession, running_batch: BatchFactory
) -> None:
    batch = running_batch()
    set_phase(store, batch, BatchPhase.CANCELLED)
    with pytest.raises(IllegalTransitionError, match="is Cancelled, not Running"):
        claim_unit(session, batch, "u1")
    with pytest.raises(RecordNotFoundError, match="no unit 'nope'"):
        claim_unit(session, batch, "nope")


def test_retryable_failures_return_to_pending_then_dead(
    session: WorkerSession, running_batch: BatchFactory
) -> None:
    batch = running_batch(max_attempts=2)
    unit = fail_unit(session, claim_unit(session, batch, "u1"), "S3 timeout")
    assert (unit.state, unit.attempts, unit.error, unit.owner) == (S.PENDING, 1, "S3 timeout", None)
    unit = fail_unit(session, claim_unit(session, batch, "u1"), "S3 timeout again")
    assert (unit.state, unit.attempts, unit.error) == (S.DEAD, 2, "S3 timeout again")
    with pytest.raises(IllegalTransitionError, match="is Dead"):
        claim_unit(session, batch, "u1")
    assert requeue_unit(session.store, batch, "u1").state is S.PENDING
    assert claim_unit(session, batch, "u1").unit.attempts == 1


def test_permanent_failure_is_final(session: WorkerSession, running_batch: BatchFactory) -> None:
    batch = running_batch()
    unit = fail_unit(session, claim_unit(session, batch, "u1"), "corrupt bag: bad chunk", retryable=False)
    assert (unit.state, unit.error) == (S.FAILED, "corrupt bag: bad chunk")
    with pytest.raises(IllegalTransitionError):
        claim_unit(session, batch, "u1")


def test_release_does_not_count_the_claim(session: WorkerSession, running_batch: BatchFactory) -> None:
    batch = running_batch()
    unit = release_unit(session, claim_unit(session, batch, "u1"))
    assert (unit.state, unit.attempts) == (S.PENDING, 0)


def test_a_worker_with_an_expired_lease_cannot_complete(
    harness: Harness, running_batch: BatchFactory
) -> None:
    batch = running_batch()
    with WorkerSession(harness.store, "pod-1") as session:
        claim = claim_unit(session, batch, "u1")
        harness.advance_ms(31_000)  # the lease (30 s) ran out by the store's clock
        with pytest.raises(LeaseLostError, match="expired"):
            complete_unit(session, claim)
        assert get_unit(harness.store, batch, "u1").state is S.PROCESSING


def test_cancel_takes_a_unit_away_from_its_holder(
    session: WorkerSession, running_batch: BatchFactory
) -> None:
    batch = running_batch()
    claim = claim_unit(session, batch, "u1")
    assert cancel_unit(session.store, batch, "u1").state is S.CANCELLED
    with pytest.raises(LeaseLostError, match="is Cancelled"):
        complete_unit(session, claim)
    assert cancel_unit(session.store, batch, "u2").state is S.CANCELLED
    with pytest.raises(IllegalTransitionError, match="cannot go from Cancelled to Pending"):
        requeue_unit(session.store, batch, "u2")


def test_claiming_another_unit_gives_back_the_abandoned_one(
    session: WorkerSession, running_batch: BatchFactory
) -> None:
    batch = running_batch()
    claim_unit(session, batch, "u1")  # the task crashed without reporting
    claim_unit(session, batch, "u2")
    u1 = get_unit(session.store, batch, "u1")
    assert (u1.state, u1.attempts, u1.checkpoint is not None) == (S.PENDING, 0, True)


def test_claim_next_takes_every_pending_unit_once(
    session: WorkerSession, running_batch: BatchFactory
) -> None:
    batch = running_batch(units=5)
    claimed = []
    while (claim := claim_next(session, batch)) is not None:
        claimed.append(claim.unit.unit_id)
        complete_unit(session, claim)
    assert sorted(claimed) == ["u0", "u1", "u2", "u3", "u4"]
    assert [u.state for u in list_units(session.store, batch)] == [S.COMPLETE] * 5
    assert list_units(session.store, batch, S.PENDING) == []
