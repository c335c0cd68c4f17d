"""A recording of several episodes resumes at its first unfinished episode after its worker is killed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pipeline.episodic import SEGMENTS, concatenate, segments
from pipeline.pipeline_readback import CONFIG, check_episode, read_dataset

from roboflow.config import parse_config
from roboflow.coordination import StateStore, open_store
from roboflow.coordination.checkpoints import load_checkpoint
from roboflow.coordination.records import UnitState, WorkUnit
from roboflow.coordination.units import get_unit, list_units
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local
from roboflow.synth import SynthSpec, write_recording

from .conftest import MakeFleet
from .harness import Fleet, wait_for

EPISODES_CONFIG = CONFIG + '\n[episodes]\nsplit = "gap"\ngap_s = 1.0\n'


@pytest.fixture(scope="module")
def episodic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, list[SynthSpec]], Path]:
    root = tmp_path_factory.mktemp("episodic")
    (root / "in").mkdir()
    specs = {}
    for r in range(3):
        pieces = []
        for k, spec in enumerate(segments(r)):
            pieces.append(root / f"piece{r}{k}.mcap")
            write_recording(pieces[-1], spec, format="mcap")
        path = root / "in" / f"run{r}.mcap"
        concatenate(pieces, path)
        specs[str(path)] = segments(r)
    config = root / "config.toml"
    config.write_text(EPISODES_CONFIG)
    reference = root / "reference"
    assert run_local([str(root / "in")], parse_config(EPISODES_CONFIG), reference, RunOptions()).exit_status == 0
    return root / "in", config, specs, reference


def _kill_between_episodes(fleet: Fleet, store: StateStore, batch_id: str) -> tuple[WorkUnit, list[str]]:
    """SIGKILL a node while a unit has finished some but not all of its episodes; returns it and its parts."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for unit in list_units(store, batch_id):
            if unit.state is not UnitState.PROCESSING or not unit.owner:
                continue
            checkpoint = load_checkpoint(store, unit.owner)
            node = fleet.node_of(int(unit.owner.rsplit("-", 2)[1]))
            if node is None or checkpoint is None or not checkpoint.data.get("parts"):
                continue
            os.killpg(node.pid, signal.SIGSTOP)
            checkpoint = load_checkpoint(store, unit.owner)
            held = get_unit(store, batch_id, unit.unit_id)
            if held.state is UnitState.PROCESSING and checkpoint is not None and checkpoint.unit_id == unit.unit_id:
                fleet.kill(node)
                return held, list(checkpoint.data["parts"])
            os.killpg(node.pid, signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("never caught a unit between two episodes\n" + fleet.log_tail())


def test_a_killed_recording_resumes_at_its_first_unfinished_episode(
    make_fleet: MakeFleet, sqlite_url: str, episodic: tuple[Path, Path, dict[str, list[SynthSpec]], Path],
    tmp_path: Path,
) -> None:
    directory, config, specs, reference = episodic
    fleet = make_fleet(sqlite_url)
    fleet.node()
    fleet.node()
    out = tmp_path / "dataset"
    submit = fleet.submit_async(str(directory), "-c", str(config), "-o", str(out), "--batch-id", "resume", "--wait",
                                "--no-progress")
    store = open_store(sqlite_url)
    try:
        wait_for(lambda: list_units(store, "resume") if os.path.exists(sqlite_url[9:]) else None, 60, "units")
        victim, staged = _kill_between_episodes(fleet, store, "resume")
        _, stderr = submit.communicate(timeout=120)
        assert submit.returncode == 0, stderr + fleet.log_tail()
        unit = get_unit(store, "resume", victim.unit_id)
    finally:
        store.close()

    assert 1 <= len(staged) < SEGMENTS
    assert unit.attempts == victim.attempts + 1
    assert unit.result is not None
    assert unit.result["shards"][: len(staged)] == staged  # the finished episodes were kept, not redone
    assert unit.result["resumed_at"] == len(staged)
    assert all(f"/attempt-{unit.attempts}/" in part for part in unit.result["shards"][len(staged):])

    assert validate_dataset(out) == []
    info, episodes, provenance = read_dataset(out)
    assert info["total_episodes"] == 3 * SEGMENTS
    expected = [spec for path in sorted(specs) for spec in specs[path]]
    assert [entry["num_episodes"] for entry in provenance["episodes"]] == [SEGMENTS] * 3  # a recording's parts join
    reports = [(report, entry) for entry in provenance["episodes"] for report in entry["alignment"]]
    for episode, (report, entry), spec in zip(episodes, reports, expected, strict=True):
        check_episode(episode, report, spec)
        assert len(entry["source"]["sha256"]) == 64
    for data in sorted((reference / "data").rglob("*.parquet")):
        assert pq.read_table(out / data.relative_to(reference)).equals(pq.read_table(data))
