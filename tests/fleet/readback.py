"""Checks of a fleet's dataset: valid, every episode once in source order, ground truth, equal to `convert`'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from pipeline.pipeline_readback import check_episode, read_dataset

from roboflow.lerobot.validate import validate_dataset
from roboflow.synth import SynthSpec


@dataclass(frozen=True)
class Recordings:
    """The fleet tests' inputs: a directory of recordings, their specs, the config and convert's output."""

    directory: Path
    config: Path
    specs: dict[str, SynthSpec]
    reference: Path


def assert_same_dataset(out: Path, recordings: Recordings) -> None:
    """``out`` is the dataset `roboflow convert` writes from the same inputs."""
    assert validate_dataset(out) == []
    info, episodes, provenance = read_dataset(out)
    expected = sorted(recordings.specs)
    assert info["total_episodes"] == len(episodes) == len(expected)
    sources = [entry["source"]["url"] for entry in provenance["episodes"]]
    assert sources == [Path(path).as_uri() for path in expected]
    for episode, entry, path in zip(episodes, provenance["episodes"], expected, strict=True):
        (alignment,) = entry["alignment"]
        check_episode(episode, alignment, recordings.specs[path])
    assert [e.index for e in episodes] == list(range(len(expected)))
    for data in sorted((recordings.reference / "data").rglob("*.parquet")):
        relative = data.relative_to(recordings.reference)
        assert pq.read_table(out / relative).equals(pq.read_table(data)), relative
