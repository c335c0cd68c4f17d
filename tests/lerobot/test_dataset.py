"""DatasetWriter: datasets written frame by frame, read back value by value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.errors import DatasetError
from roboflow.lerobot.dataset import STAGING_DIR, DatasetWriter
from roboflow.lerobot.spec import DatasetSpec
from roboflow.lerobot.validate import validate_dataset


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_many_episodes_two_cameras(tmp_path: Path, kit: Any, format: str) -> None:
    out = kit.write(tmp_path / "ds", kit.three_episodes, format=format)
    kit.check(out, kit.three_episodes, format=format)
    assert validate_dataset(out) == []
    assert not (out / STAGING_DIR).exists()
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_one_episode(tmp_path: Path, kit: Any, format: str) -> None:
    one = [kit.episode(7, ["pick cube"] * 4)]
    out = kit.write(tmp_path / "ds", one, format=format)
    kit.check(out, one, format=format)
    assert validate_dataset(out) == []


def test_v30_puts_all_episodes_in_one_file_under_the_limits(tmp_path: Path, kit: Any) -> None:
    out = kit.write(tmp_path / "ds", kit.three_episodes)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "data/chunk-000/file-000.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "videos/observation.images.front/chunk-000/file-000.mp4",
        "videos/observation.images.wrist/chunk-000/file-000.mp4",
    ]


def test_dataset_without_cameras(tmp_path: Path, kit: Any) -> None:
    spec = DatasetSpec(fps=10, robot_type=None, vectors=kit.spec.vectors)
    items = [kit.episode(0, ["a"] * 3), kit.episode(10, ["b"] * 2)]
    for format in ("v3.0", "v2.1"):
        out = kit.write(tmp_path / format, items, format=format, spec=spec)
        kit.check(out, items, format=format, spec=spec)
        assert json.loads((out / "meta/info.json").read_text())["video_path"] is None
        assert validate_dataset(out) == []


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_one_element_vector_is_a_float32_column(tmp_path: Path, kit: Any, format: str) -> None:
    """lerobot stores every shape-[1] feature as a scalar column; fixed_size_list[1] does not load in it."""
    items = [kit.episode(0, ["a"] * 3), kit.episode(10, ["b"] * 2)]
    out = kit.write(tmp_path / "ds", items, format=format, spec=kit.gripper_spec)
    loaded = kit.check(out, items, format=format, spec=kit.gripper_spec)  # column types, exact values, stats
    assert loaded.info["features"]["observation.gripper"] == {
        "dtype": "float32",
        "shape": [1],
        "names": ["width"],
    }
    gripper = pa.concat_arrays(
        [chunk for table in map(pq.read_table, sorted(out.glob("data/*/*.parquet")))
         for chunk in table.column("observation.gripper").chunks]
    )  # fmt: skip
    assert gripper.type == pa.float32()
    assert gripper.to_pylist() == [0.125, 0.25, 0.375, 1.375, 1.5]  # content / 8 + 1/8, exact in float32
    assert [stats["observation.gripper"]["max"].tolist() for stats in loaded.stats] == [[0.375], [1.5]]
    assert validate_dataset(out) == []


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_interrupted_write_is_rejected(tmp_path: Path, kit: Any, format: str) -> None:
    out = tmp_path / "ds"
    with (
        pytest.raises(RuntimeError, match="crash"),
        DatasetWriter(out, kit.spec, format=format, video=kit.x264) as writer,
    ):
        for content in range(6):
            writer.add_frame(kit.frame_of(content), "pick")
        writer.save_episode()
        for content in range(10, 14):
            writer.add_frame(kit.frame_of(content), "pick")
            if content == 12:
                raise RuntimeError("crash")
    problems = validate_dataset(out)
    assert [str(p) for p in problems] == [
        "meta/info.json: missing (the dataset was never finalised, or this is not a LeRobot dataset)"
    ]
    assert not (out / STAGING_DIR).exists()
    # v3.0 files still being filled stay under hidden partial names; v2.1 keeps the whole first episode
    whole = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name[0] != ".")
    if format == "v3.0":
        assert whole == []
    else:
        assert whole == [
            "data/chunk-000/episode_000000.parquet",
            "videos/chunk-000/observation.images.front/episode_000000.mp4",
            "videos/chunk-000/observation.images.wrist/episode_000000.mp4",
        ]


def test_crash_without_cleanup_leaves_no_info(tmp_path: Path, kit: Any) -> None:
    writer = DatasetWriter(tmp_path / "ds", kit.spec, video=kit.x264)
    for content in range(5):
        writer.add_frame(kit.frame_of(content), "pick")
    writer.save_episode()
    writer.add_frame(kit.frame_of(9), "pick")
    # the process dies here: no finalize, no abort
    assert validate_dataset(tmp_path / "ds")[0].path == "meta/info.json"
    writer.abort()


def test_finalize_is_idempotent_and_closes(tmp_path: Path, kit: Any) -> None:
    writer = DatasetWriter(tmp_path / "ds", kit.spec, video=kit.x264)
    for content in range(3):
        writer.add_frame(kit.frame_of(content), "pick")
    assert writer.save_episode() == 0
    info = writer.finalize({"source": "unit test"})
    assert writer.finalize() == info
    assert info["total_frames"] == 3
    assert json.loads((tmp_path / "ds/meta/roboflow.json").read_text()) == {"source": "unit test"}
    with pytest.raises(DatasetError, match="finalised"):
        writer.add_frame(kit.frame_of(3), "pick")


def test_misuse_is_a_clear_error(tmp_path: Path, kit: Any) -> None:
    writer = DatasetWriter(tmp_path / "ds", kit.spec, video=kit.x264)
    with pytest.raises(DatasetError, match="no frames were added"):
        writer.save_episode()
    with pytest.raises(DatasetError, match="no episodes were saved"):
        writer.finalize()
    writer.add_frame(kit.frame_of(0), "pick")
    with pytest.raises(DatasetError, match="1 frames that were not saved"):
        writer.finalize()
    writer.abort()
    with pytest.raises(DatasetError, match="aborted"):
        writer.add_frame(kit.frame_of(1), "pick")
    with pytest.raises(DatasetError, match="unknown dataset format 'v2.0'"):
        DatasetWriter(tmp_path / "other", kit.spec, format="v2.0")


def test_refuses_a_non_empty_directory_unless_overwrite(tmp_path: Path, kit: Any) -> None:
    items = [kit.episode(0, ["a"] * 2)]
    out = kit.write(tmp_path / "ds", items)
    with pytest.raises(DatasetError, match="exists already, not overwriting"):
        DatasetWriter(out, kit.spec)
    DatasetWriter(out, kit.spec, overwrite=True).abort()
    assert list(out.iterdir()) == []


def test_episode_error_leaves_the_dataset_writable(tmp_path: Path, kit: Any) -> None:
    items = [kit.episode(0, ["a"] * 2), kit.episode(50, ["b"] * 3)]
    writer = DatasetWriter(tmp_path / "ds", kit.spec, video=kit.x264)
    for content, task in zip(items[0].ids, items[0].tasks, strict=True):
        writer.add_frame(kit.frame_of(content), task)
    writer.save_episode()
    bad = kit.frame_of(1)
    bad["observation.state"] = np.zeros(5, dtype=np.float32)
    with pytest.raises(DatasetError, match="observation.state"):
        writer.add_frame(bad, "b")
    for content, task in zip(items[1].ids, items[1].tasks, strict=True):
        writer.add_frame(kit.frame_of(content), task)
    writer.save_episode()
    writer.finalize()
    kit.check(tmp_path / "ds", items, format="v3.0")


def test_save_episode_returns_indices(tmp_path: Path, kit: Any) -> None:
    with DatasetWriter(tmp_path / "ds", kit.spec, video=kit.x264) as writer:
        indices = []
        for item in [kit.Episode((1, 2), ("a", "a")), kit.Episode((3,), ("b",))]:
            for content, task in zip(item.ids, item.tasks, strict=True):
                writer.add_frame(kit.frame_of(content), task)
            indices.append(writer.save_episode())
    assert indices == [0, 1]
    assert writer.episodes == 2
    assert (tmp_path / "ds/meta/info.json").is_file()
    assert kit.front in json.loads((tmp_path / "ds/meta/info.json").read_text())["features"]
