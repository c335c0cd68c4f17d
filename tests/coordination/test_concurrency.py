"""Several OS processes race to claim the same units; one is killed mid-unit (both stores).

Every unit must end Complete, completed exactly once; every claim beyond a unit's first must be explained
by a reaper reclaim (the killed worker's unit after its lease expired), and a unit's attempts must equal
its claims.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from roboflow.coordination import open_store
from roboflow.coordination.batches import create_batch, set_phase
from roboflow.coordination.records import BatchPhase, BatchSpec, UnitState
from roboflow.coordination.units import UnitSpec, add_units, list_units

HERE = Path(__file__).resolve().parent
EMULATOR = HERE.parent / "tikv_emulator"
UNITS = 16
WORKERS = 4


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[str]:
    """The emulator as its own process; yields its PD address."""
    proc = subprocess.Popen([sys.executable, str(EMULATOR), "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("tikv-emulator ready"), line
    yield line.split("pd=")[1].split()[0]
    proc.terminate()
    proc.wait(10)


def wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"{path} never appeared"


@pytest.mark.parametrize("kind", ["sqlite", "tikv"])
def test_processes_race_and_a_killed_worker_is_reaped(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite://{tmp_path}/state.db"
        if kind == "sqlite"
        else f"tikv://{request.getfixturevalue('emulator_process')}"
    )
    batch = f"race-{kind}-{tmp_path.name}"
    store = open_store(url)
    create_batch(store, BatchSpec(batch, (), "file:///out"))
    set_phase(store, batch, BatchPhase.DISCOVERING)
    specs = [UnitSpec(f"u{i:02d}", f"file:///rec/{i}.mcap") for i in range(UNITS)]
    add_units(
        store, batch, specs, max_attempts=10
    )  # spurious lease losses on a loaded machine must not kill units
    set_phase(store, batch, BatchPhase.RUNNING)

    marker = tmp_path / "victim-claimed"
    logs = [tmp_path / f"w{i}.jsonl" for i in range(WORKERS)]
    victim = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "race_worker.py"),
            url,
            "w0",
            batch,
            str(logs[0]),
            "--victim",
            str(marker),
        ]
    )
    wait_for(marker, 60)
    rivals = [
        subprocess.Popen([sys.executable, str(HERE / "race_worker.py"), url, f"w{i}", batch, str(logs[i])])
        for i in range(1, WORKERS)
    ]
    victim.send_signal(signal.SIGKILL)  # mid-unit: it holds a claim and never renews again
    victim.wait(10)
    for proc in rivals:
        assert proc.wait(120) == 0

    events = [json.loads(line) for log in logs if log.exists() for line in log.read_text().splitlines()]
    count = {
        kind: Counter(e["unit"] for e in events if e["event"] == kind)
        for kind in ("claim", "complete", "reclaim")
    }
    killed_unit = marker.read_text()
    units = {u.unit_id: u for u in list_units(store, batch)}
    assert len(units) == UNITS
    assert all(u.state is UnitState.COMPLETE for u in units.values()), {
        u.unit_id: u.state for u in units.values()
    }
    assert count["complete"] == Counter({unit: 1 for unit in units})  # completed exactly once
    for unit_id, unit in units.items():
        assert count["claim"][unit_id] == 1 + count["reclaim"][unit_id], unit_id
        assert unit.attempts == count["claim"][unit_id], unit_id
    assert count["reclaim"][killed_unit] >= 1
    assert units[killed_unit].result is not None and units[killed_unit].result["by"] != "w0"
    assert units[killed_unit].attempts >= 2
    store.close()
