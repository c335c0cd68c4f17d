"""TiKV faults injected by the emulator: retries, the circuit breaker, clear errors, no corruption."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tikv_emulator import Emulator

from roboflow.coordination.batches import create_batch, set_phase
from roboflow.coordination.errors import StoreUnavailableError
from roboflow.coordination.keys import checkpoint_key
from roboflow.coordination.records import BatchPhase, BatchSpec, UnitState
from roboflow.coordination.store import run_transaction
from roboflow.coordination.tikv import TikvStore
from roboflow.coordination.units import UnitSpec, add_units, claim_unit, complete_unit, list_units
from roboflow.coordination.workers import WorkerSession
from roboflow.errors import StateError
from roboflow.resilience import CircuitState

from .harness import tikv_store


@pytest.fixture
def store(emulator: Emulator) -> Iterator[TikvStore]:
    s = tikv_store(
        emulator, breaker_failures=3, breaker_reset_s=0.5, request_timeout_s=0.2, call_timeout_s=1.0
    )
    create_batch(s, BatchSpec("b1", (), "file:///out"))
    set_phase(s, "b1", BatchPhase.DISCOVERING)
    add_units(s, "b1", [UnitSpec(f"u{i}", f"file:///rec/{i}.bag") for i in range(3)])
    set_phase(s, "b1", BatchPhase.RUNNING)
    yield s
    s.close()


def wait_for_breaker(store: TikvStore, state: CircuitState) -> None:
    deadline = time.monotonic() + 5
    while store.breaker.state is not state and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.breaker.state is state


def test_tikv_down_opens_the_breaker_then_recovers_with_nothing_corrupted(
    emulator: Emulator, store: TikvStore
) -> None:
    with WorkerSession(store, "pod-1") as session:
        before = list_units(store, "b1")
        emulator.stop_serving()  # both ports now refuse connections
        with pytest.raises(StoreUnavailableError, match="TiKV unavailable") as first:
            claim_unit(session, "b1", "u0")
        assert isinstance(first.value, StateError) and first.value.path == store.url
        assert store.breaker.state is CircuitState.OPEN
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"circuit breaker .* is open"):
            claim_unit(session, "b1", "u0")
        assert time.monotonic() - started < 0.1  # fails fast while open

        emulator.resume_serving()
        wait_for_breaker(store, CircuitState.HALF_OPEN)
        assert list_units(store, "b1") == before  # nothing changed while down
        assert emulator.mvcc.scan_lock(1 << 63, b"", b"", 0) == []
        claim = claim_unit(session, "b1", "u0")  # reconnected: a fresh client, the old one is dead
        assert store.breaker.state is CircuitState.CLOSED
        assert complete_unit(session, claim).state is UnitState.COMPLETE


def test_a_transition_interrupted_at_commit_leaves_no_trace(emulator: Emulator, store: TikvStore) -> None:
    with WorkerSession(store, "pod-1") as session:
        emulator.faults.unavailable(True, methods=["KvCommit"])
        with pytest.raises(StoreUnavailableError, match="TiKV unavailable"):
            claim_unit(session, "b1", "u1")
        emulator.faults.clear()
        wait_for_breaker(store, CircuitState.HALF_OPEN)
        unit = next(u for u in list_units(store, "b1") if u.unit_id == "u1")  # reads resolve leftover locks
        assert (unit.state, unit.attempts, unit.owner) == (UnitState.PENDING, 0, None)
        assert run_transaction(store, lambda txn: txn.get(checkpoint_key("pod-1")), readonly=True) is None
        assert claim_unit(session, "b1", "u1").unit.attempts == 1
        assert emulator.mvcc.scan_lock(1 << 63, b"", b"", 0) == []


@pytest.mark.parametrize("kind", ["not_leader", "epoch_not_match", "region_not_found", "stale_command"])
def test_region_errors_are_retried_by_the_client(emulator: Emulator, store: TikvStore, kind: str) -> None:
    emulator.faults.region_errors(kind, count=3, methods=["KvPrewrite", "KvCommit", "KvGet"])
    run_transaction(store, lambda txn: txn.put("k", (txn.get("k") or b"") + b"x"))
    assert run_transaction(store, lambda txn: txn.get("k"), readonly=True) == b"x"
    assert store.breaker.state is CircuitState.CLOSED


def test_a_busy_server_is_reported_as_unavailable(emulator: Emulator, store: TikvStore) -> None:
    emulator.faults.region_errors("server_is_busy", count=100, methods=["KvGet"])
    with pytest.raises(StoreUnavailableError, match="Region error"):
        run_transaction(store, lambda txn: txn.get("k"), readonly=True)


def test_a_hanging_tikv_times_out(emulator: Emulator, store: TikvStore) -> None:
    emulator.faults.delay(1.5, methods=["KvGet"])  # far beyond the client's 0.2 s request timeout
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="TiKV unavailable"):
        run_transaction(store, lambda txn: txn.get("k"), readonly=True)
    assert time.monotonic() - started < 10  # bounded by call_timeout_s per attempt, not the client's retries
    emulator.faults.clear()
    wait_for_breaker(store, CircuitState.HALF_OPEN)
    assert run_transaction(store, lambda txn: txn.get("k"), readonly=True) is None
