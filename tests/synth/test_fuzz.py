"""The mutation fuzz test: damaged recordings of every format give a valid dataset or exactly one error line.

A fixed campaign (seed and case count) over the synth seeds (MCAP zstd/lz4/none, ROS1 none/bz2/lz4, rosbag2
sqlite3 and mcap) and the small real recordings (ROS1, MCAP, rosbag2, Rerun): each case runs ``roboflow inspect``
and ``roboflow convert`` (real recordings: inspect and a full read) in-process. ``bench/fuzz.py`` runs the long
campaign with an address-space limit and a timeout per case.
"""

from __future__ import annotations

import logging
import random
import shutil
import struct
from collections import Counter
from pathlib import Path

import pytest

import roboflow.cli.inspect as inspect_command
from roboflow.synth.fuzz import BAD, Outcome, Seed, make_case, make_seeds, run_case
from roboflow.synth.mutate import mutate

RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "data" / "recordings"
SEED = 11
CASES = 110


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[Seed]:
    return make_seeds(tmp_path_factory.mktemp("seeds"), RECORDINGS if RECORDINGS.is_dir() else None)


def test_every_damaged_recording_converts_or_fails_in_one_line(seeds: list[Seed], tmp_path: Path) -> None:
    config = seeds[0].path.parent / "fuzz.toml"
    outcomes: Counter[tuple[str, Outcome]] = Counter()
    bad = []
    for index in range(CASES):
        directory = tmp_path / f"case-{index}"
        case = make_case(seeds, SEED, index, directory / "input")
        verdict = run_case(case, config, directory)
        outcomes[(case.seed.label, verdict.outcome)] += 1
        if verdict.outcome in BAD:
            bad.append(f"case {index} [{case.seed.label}] {case.damage}: {verdict.outcome.value}: {verdict.detail}")
        shutil.rmtree(directory)
    assert bad == []
    labels = {seed.label for seed in seeds}
    assert {"mcap", "ros1", "ros1-bz2", "ros1-lz4", "ros2-sqlite3", "ros2-mcap"} <= labels
    for label in labels:  # the damage reaches every format: each has clean errors, not only successes
        assert outcomes[(label, Outcome.CLEAN)] > 0, (label, outcomes)
    assert sum(count for (_, outcome), count in outcomes.items() if outcome is Outcome.OK) > 0


def test_the_same_seed_gives_the_same_damage(seeds: list[Seed], tmp_path: Path) -> None:
    first = make_case(seeds, 5, 3, tmp_path / "a")
    second = make_case(seeds, 5, 3, tmp_path / "b")
    assert first.damage == second.damage
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.path.read_bytes() != seeds[3].path.read_bytes()


@pytest.mark.parametrize(("label", "width"), [("mcap", 8), ("ros1", 4)])
def test_length_mutations_hit_real_length_fields(seeds: list[Seed], tmp_path: Path, label: str, width: int) -> None:
    seed = next(s for s in seeds if s.label == label)
    original = seed.path.read_bytes()
    for attempt in range(40):
        rng = random.Random(attempt)
        target = tmp_path / f"{attempt}{seed.path.suffix}"
        what = mutate(seed.path, target, rng)
        if not what.startswith("length:"):
            continue
        offset, old = (int(word) for word in what.split()[4:8:3])  # "length: length field at O set from A to B"
        fmt = "<I" if width == 4 else "<Q"
        assert struct.unpack_from(fmt, original, offset)[0] == old
        return
    pytest.fail("no length mutation in 40 tries")


@pytest.mark.parametrize(("raised", "outcome"), [
    (KeyError(194), Outcome.TRACEBACK),
    (MemoryError(), Outcome.MEMORY),
    (None, Outcome.MULTILINE),  # a warning over two lines
])
def test_the_judge_sees_what_a_user_would(seeds: list[Seed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          raised: BaseException | None, outcome: Outcome) -> None:
    def broken(path: object) -> object:
        if raised is not None:
            raise raised
        logging.getLogger("roboflow.test").warning("first line\nsecond line")
        return original(path)

    original = inspect_command.inspect_recording
    monkeypatch.setattr(inspect_command, "inspect_recording", broken)
    case = make_case(seeds, 0, 0, tmp_path / "input")
    verdict = run_case(case, seeds[0].path.parent / "fuzz.toml", tmp_path)
    assert verdict.outcome is outcome
    assert verdict.detail.startswith("inspect: ")
