"""The reaper: units of stale workers go back to Pending with their checkpoints (both stores)."""

from __future__ import annotations

import threading

import pytest

from roboflow.coordination.checkpoints import load_checkpoint, save_checkpoint
from roboflow.coordination.errors import LeaseLostError
from roboflow.coordination.keys import heartbeat_key, worker_lease_key
from roboflow.coordination.reaper import Reaper, Reclaim
from roboflow.coordination.records import HeartbeatRecord, LockRecord, UnitState, WorkerStatus, decode
from roboflow.coordination.store import StateStore, run_transaction
from roboflow.coordination.units import claim_unit, complete_unit, get_unit
from roboflow.coordination.workers import CoordinationConfig, WorkerSession

from .conftest import BatchFactory, StartSession
from .harness import Harness

STALE_MS = 31_000  # past the default lease TTL and heartbeat timeout (30 s)


def record(store: StateStore, key: str, cls: type) -> object:
    raw = run_transaction(store, lambda txn: txn.get(key), readonly=True)
    return None if raw is None else decode(cls, raw)


def test_a_stale_worker_loses_its_unit_but_not_its_progress(
    harness: Harness, running_batch: BatchFactory, start: StartSession
) -> None:
    store = harness.store
    batch = running_batch()
    crashed = start("pod-1")  # never renews within the test: as good as crashed
    claim = claim_unit(crashed, batch, "u1")
    saved = save_checkpoint(crashed, claim, frame_index=50, episode_index=0)
    reaper = Reaper(store)
    assert reaper.reap_once() == []  # alive: nothing to do
    harness.advance_ms(STALE_MS)
    assert reaper.reap_once() == [Reclaim("pod-1", batch, "u1", UnitState.PENDING, 1)]
    unit = get_unit(store, batch, "u1")
    assert (unit.state, unit.owner, unit.checkpoint) == (UnitState.PENDING, None, saved)
    assert load_checkpoint(store, "pod-1") is None
    lock = record(store, worker_lease_key("pod-1"), LockRecord)
    assert lock == LockRecord("", crashed.lease.epoch + 1, 0, lock.acquired_ms)  # type: ignore[union-attr]
    assert record(store, heartbeat_key("pod-1"), HeartbeatRecord).status is WorkerStatus.LOST  # type: ignore[union-attr]
    with pytest.raises(LeaseLostError):
        complete_unit(crashed, claim)  # the zombie cannot finish it
    with pytest.raises(LeaseLostError):
        crashed.beat()
    assert crashed.lost
    assert reaper.reap_once() == []
    with WorkerSession(store, "pod-2") as successor:
        assert claim_unit(successor, batch, "u1").checkpoint == saved


def test_silence_alone_is_not_enough_while_the_lease_is_valid(
    harness: Harness, running_batch: BatchFactory, start: StartSession
) -> None:
    batch = running_batch()
    session = start("pod-1")
    claim_unit(session, batch, "u1")
    reaper = Reaper(harness.store, CoordinationConfig(heartbeat_timeout_s=1.0))  # the lease still has 30 s
    harness.advance_ms(5_000)
    assert reaper.reap_once() == []


def test_a_worker_that_stopped_holding_a_unit_is_reaped_at_once(
    store: StateStore, running_batch: BatchFactory
) -> None:
    batch = running_batch()
    with WorkerSession(store, "pod-1") as session:
        claim_unit(session, batch, "u1")
    assert [r.unit_id for r in Reaper(store).reap_once()] == ["u1"]


def test_reclaims_per_pass_are_bounded_and_attempts_still_count(
    harness: Harness, running_batch: BatchFactory, start: StartSession
) -> None:
    batch = running_batch(units=3, max_attempts=1)
    sessions = [start(f"pod-{i}") for i in range(3)]
    for i, session in enumerate(sessions):
        claim_unit(session, batch, f"u{i}")
    harness.advance_ms(STALE_MS)
    reaper = Reaper(harness.store, max_reclaims=2)
    first, second = reaper.reap_once(), reaper.reap_once()
    assert (len(first), len(second)) == (2, 1)
    assert {r.state for r in first + second} == {
        UnitState.DEAD
    }  # one attempt allowed, used by the dead claim


def test_reapers_racing_reclaim_each_unit_once(
    harness: Harness, running_batch: BatchFactory, start: StartSession
) -> None:
    batch = running_batch(units=4)
    for i in range(4):
        claim_unit(start(f"pod-{i}"), batch, f"u{i}")
    harness.advance_ms(STALE_MS)
    results: list[Reclaim] = []
    lock = threading.Lock()

    def reap() -> None:
        found = Reaper(harness.store).reap_once()
        with lock:
            results.extend(found)

    threads = [threading.Thread(target=reap) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.unit_id for r in results) == ["u0", "u1", "u2", "u3"]
    assert all(get_unit(harness.store, batch, f"u{i}").state is UnitState.PENDING for i in range(4))


def test_long_gone_workers_are_forgotten(
    harness: Harness, running_batch: BatchFactory, start: StartSession
) -> None:
    batch = running_batch()
    claim_unit(start("pod-1"), batch, "u1")
    harness.advance_ms(STALE_MS)
    reaper = Reaper(harness.store, forget_after_s=60)
    assert len(reaper.reap_once()) == 1
    assert record(harness.store, heartbeat_key("pod-1"), HeartbeatRecord) is not None
    harness.advance_ms(61_000)
    reaper.reap_once()
    assert record(harness.store, heartbeat_key("pod-1"), HeartbeatRecord) is None
    assert record(harness.store, worker_lease_key("pod-1"), LockRecord) is None
