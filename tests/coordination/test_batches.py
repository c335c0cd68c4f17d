"""Batch records and the phase state machine (both stores)."""

from __future__ import annotations

import pytest

from roboflow.coordination.batches import create_batch, get_batch, list_batches, set_phase
from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError, RecordNotFoundError
from roboflow.coordination.keys import batch_lease_key
from roboflow.coordination.leases import acquire_lease
from roboflow.coordination.records import BatchPhase, BatchSpec
from roboflow.coordination.store import StateStore
from roboflow.coordination.units import UnitSpec, add_units

from .harness import Harness

P = BatchPhase
SPEC = BatchSpec("b1", ("s3://in/a.mcap",), "s3://out/ds", "hash", "cfg", limits={"max_frames": 10})


def test_create_is_idempotent_and_refuses_a_different_spec(store: StateStore) -> None:
    status = create_batch(store, SPEC)
    assert status.phase.phase is P.PENDING and status.spec == SPEC
    assert create_batch(store, SPEC).spec == SPEC
    with pytest.raises(IllegalTransitionError, match="different spec"):
        create_batch(store, BatchSpec("b1", (), "s3://elsewhere"))
    assert get_batch(store, "b1").spec == SPEC
    create_batch(store, BatchSpec("b2", (), "x"))
    assert list_batches(store) == ["b1", "b2"]


def test_the_happy_path_and_idempotent_repeats(store: StateStore) -> None:
    create_batch(store, SPEC)
    for phase in (P.DISCOVERING, P.RUNNING, P.MERGING, P.COMPLETE):
        assert set_phase(store, "b1", phase).phase is phase
        assert set_phase(store, "b1", phase).phase is phase  # a retried call is a no-op
    assert get_batch(store, "b1").phase.phase is P.COMPLETE


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), P.RUNNING),
        ((P.DISCOVERING,), P.MERGING),
        ((P.DISCOVERING, P.RUNNING), P.COMPLETE),
        ((P.FAILED,), P.RUNNING),
        ((P.CANCELLED,), P.FAILED),
    ],
)
def test_illegal_transitions_raise(
    store: StateStore, path: tuple[BatchPhase, ...], target: BatchPhase
) -> None:
    create_batch(store, SPEC)
    for phase in path:
        set_phase(store, "b1", phase)
    with pytest.raises(IllegalTransitionError, match=f"cannot go from .* to {target.value}") as info:
        set_phase(store, "b1", target)
    assert info.value.current is (path[-1] if path else P.PENDING)


@pytest.mark.parametrize("abort", [P.FAILED, P.CANCELLED])
def test_any_open_phase_can_fail_or_be_cancelled(store: StateStore, abort: BatchPhase) -> None:
    create_batch(store, SPEC)
    set_phase(store, "b1", P.DISCOVERING)
    set_phase(store, "b1", P.RUNNING)
    record = set_phase(store, "b1", abort, message="disk full")
    assert (record.phase, record.message) == (abort, "disk full")


def test_compare_and_set_on_the_expected_phase(store: StateStore) -> None:
    create_batch(store, SPEC)
    set_phase(store, "b1", P.DISCOVERING, expected=P.PENDING)
    with pytest.raises(IllegalTransitionError, match="is Discovering, expected Pending"):
        set_phase(store, "b1", P.FAILED, expected=P.PENDING)


def test_a_transition_under_a_lease_needs_the_lease(harness: Harness) -> None:
    store = harness.store
    create_batch(store, SPEC)
    for phase in (P.DISCOVERING, P.RUNNING):
        set_phase(store, "b1", phase)
    lease = acquire_lease(store, batch_lease_key("b1"), "merger-1", ttl_ms=5000)
    set_phase(store, "b1", P.MERGING, lease=lease)
    harness.advance_ms(6000)  # the merger stalled past its lease
    acquire_lease(store, batch_lease_key("b1"), "merger-2", ttl_ms=5000)
    with pytest.raises(LeaseLostError, match="merger-2"):
        set_phase(store, "b1", P.COMPLETE, lease=lease)
    assert get_batch(store, "b1").phase.phase is P.MERGING


def test_missing_batch(store: StateStore) -> None:
    with pytest.raises(RecordNotFoundError, match="no batch 'nope'"):
        set_phase(store, "nope", P.RUNNING)
    with pytest.raises(RecordNotFoundError):
        get_batch(store, "nope")


def test_units_can_only_be_added_until_running(store: StateStore) -> None:
    create_batch(store, SPEC)
    assert add_units(store, "b1", [UnitSpec("u1", "x"), UnitSpec("u2", "y")]) == 2
    assert add_units(store, "b1", [UnitSpec("u1", "x"), UnitSpec("u3", "z")]) == 1
    for phase in (P.DISCOVERING, P.RUNNING, P.MERGING):
        set_phase(store, "b1", phase)
    with pytest.raises(IllegalTransitionError, match="is Merging: no new units"):
        add_units(store, "b1", [UnitSpec("u4", "w")])


def test_only_batches_not_yet_final_are_listed_as_active(store: StateStore) -> None:
    from roboflow.coordination.batches import list_active_batches

    for batch_id in ("a", "b", "c"):
        create_batch(store, BatchSpec(batch_id, (), "file:///out"))
    set_phase(store, "b", BatchPhase.CANCELLED)
    set_phase(store, "c", BatchPhase.DISCOVERING)
    set_phase(store, "c", BatchPhase.FAILED, message="no recordings")
    assert list_active_batches(store) == ["a"]
    assert list_batches(store) == ["a", "b", "c"]
