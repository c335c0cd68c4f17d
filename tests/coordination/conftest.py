"""Fixtures of the coordination tests: the TiKV emulator and a store harness over both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tikv_emulator import Emulator

from roboflow.coordination.store import StateStore
from roboflow.coordination.workers import WorkerSession

from .harness import STORE_KINDS, Harness, make_harness


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(params=STORE_KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    emu = request.getfixturevalue("emulator") if request.param == "tikv" else None
    h = make_harness(request.param, tmp_path, emu)
    yield h
    h.store.close()


@pytest.fixture
def store(harness: Harness) -> StateStore:
    return harness.store


BatchFactory = Callable[..., str]


@pytest.fixture
def running_batch(store: StateStore) -> BatchFactory:
    """Create a batch with ``units`` Pending units and move it to Running; returns its id."""
    from roboflow.coordination.batches import create_batch, set_phase
    from roboflow.coordination.records import BatchPhase, BatchSpec
    from roboflow.coordination.units import UnitSpec, add_units

    def make(batch_id: str = "b1", units: int = 3, max_attempts: int = 3) -> str:
        create_batch(store, BatchSpec(batch_id, (), "file:///out"))
        set_phase(store, batch_id, BatchPhase.DISCOVERING)
        specs = [UnitSpec(f"u{i}", f"file:///rec/{i}.mcap", 100 + i) for i in range(units)]
        add_units(store, batch_id, specs, max_attempts=max_attempts)
        set_phase(store, batch_id, BatchPhase.RUNNING)
        return batch_id

    return make


StartSession = Callable[[str], WorkerSession]


@pytest.fixture
def start(store: StateStore) -> Iterator[StartSession]:
    """Start worker sessions (default config: no renewal within a test) and stop them at teardown."""
    started: list[WorkerSession] = []

    def make(pod_id: str) -> WorkerSession:
        session = WorkerSession(store, pod_id).start()
        started.append(session)
        return session

    yield make
    for session in started:
        session.stop()
