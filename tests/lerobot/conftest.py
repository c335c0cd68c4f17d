"""Small datasets with known content, and an independent reader that checks them value by value.

Frame content is identified by an integer id: the frame's images show the synthetic frame pattern of that
id (readable after lossy coding), its vectors are exact functions of it. :func:`check_dataset` reads a
dataset back with pyarrow and PyAV only (none of the code under test) and asserts every row, every decoded
frame, every metadata field and stat against the episodes it was written from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.lerobot.assemble import FileLimits
from roboflow.lerobot.dataset import DatasetWriter
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, VectorFeature
from roboflow.media.settings import VideoSettings
from roboflow.synth.truth import decode_pattern, render_frame

FPS = 10
WIDTH, HEIGHT = 64, 48
FRONT, WRIST = "observation.images.front", "observation.images.wrist"
SPEC = DatasetSpec(
    fps=FPS,
    robot_type="testbot",
    vectors=(VectorFeature("observation.state", ("j0", "j1", "j2")), VectorFeature("action", ("j0", "j1"))),
    cameras=(CameraFeature(FRONT, HEIGHT, WIDTH), CameraFeature(WRIST, HEIGHT, WIDTH)),
)
#: A one-element vector (a gripper) between two longer ones, no cameras: lerobot stores it as a float32 column.
GRIPPER_SPEC = DatasetSpec(
    fps=FPS,
    robot_type="testbot",
    vectors=(SPEC.vectors[0], VectorFeature("observation.gripper", ("width",)), SPEC.vectors[1]),
)
X264 = VideoSettings(codec="libx264", preset="ultrafast", crf=20)
STAT_KEYS = ("min", "max", "mean", "std", "count")
QUANTILES = ("q01", "q10", "q50", "q90", "q99")


@dataclass(frozen=True)
class Episode:
    """Frame k shows content ``ids[k]`` and belongs to task ``tasks[k]``."""

    ids: tuple[int, ...]
    tasks: tuple[str, ...]

    @property
    def length(self) -> int:
        return len(self.ids)


def episode(first_id: int, tasks: Sequence[str]) -> Episode:
    """An episode of ``len(tasks)`` frames with ids ``first_id, first_id + 1, ...``."""
    return Episode(tuple(range(first_id, first_id + len(tasks))), tuple(tasks))


def state_of(content: int) -> np.ndarray:
    return np.array([content, content * 0.5, -content], dtype=np.float32)


def action_of(content: int) -> np.ndarray:
    return np.array([content + 0.25, 1.0], dtype=np.float32)


def gripper_of(content: int) -> np.ndarray:
    return np.array([content / 8 + 0.125], dtype=np.float32)


#: Vector feature -> its value for a content id.
VECTORS = {"observation.state": state_of, "action": action_of, "observation.gripper": gripper_of}


def vector_column_type(size: int) -> pa.DataType:
    """lerobot's parquet type of a float32 feature of shape [size]: scalar for [1], fixed_size_list otherwise."""
    return pa.float32() if size == 1 else pa.list_(pa.float32(), size)


def frame_of(content: int, spec: DatasetSpec = SPEC) -> dict[str, np.ndarray]:
    frame = {vector.key: VECTORS[vector.key](content) for vector in spec.vectors}
    for camera_index, camera in enumerate(spec.cameras):
        frame[camera.key] = render_frame(content, camera.width, camera.height, camera=camera_index)
    return frame


def write_dataset(
    out: Path,
    episodes: Sequence[Episode],
    *,
    format: str = "v3.0",
    spec: DatasetSpec = SPEC,
    limits: FileLimits | None = None,
    video: VideoSettings = X264,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``episodes`` with :class:`DatasetWriter`; returns ``out``."""
    writer = DatasetWriter(out, spec, format=format, video=video, limits=limits)
    for item in episodes:
        for content, task in zip(item.ids, item.tasks, strict=True):
            writer.add_frame(frame_of(content, spec), task)
        writer.save_episode()
    writer.finalize(provenance)
    return out


# --- reading back, independently of the code under test -------------------------------------------------


@dataclass
class Loaded:
    info: dict[str, Any]
    rows: pd.DataFrame
    episodes: list[dict[str, Any]]
    tasks: list[str]
    stats: list[dict[str, dict[str, np.ndarray]]]
    schemas: list[pa.Schema]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _arrays(stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    return {f: {k: np.asarray(v) for k, v in values.items()} for f, values in stats.items()}


def load(root: Path) -> Loaded:
    info = json.loads((root / "meta/info.json").read_text())
    if info["codebase_version"] == "v3.0":
        files = sorted((root / "meta/episodes").glob("*/*.parquet"))
        episodes = [row for f in files for row in pq.read_table(f).to_pylist()]
        stats: list[dict[str, dict[str, np.ndarray]]] = []
        for row in episodes:
            per: dict[str, dict[str, np.ndarray]] = {}
            for name, value in row.items():
                if name.startswith("stats/"):
                    feature, key = name[len("stats/") :].rsplit("/", 1)
                    per.setdefault(feature, {})[key] = np.array(value)
            stats.append(per)
        tasks = [str(t) for t in pd.read_parquet(root / "meta/tasks.parquet").index]
        data_files = sorted((root / "data").glob("*/*.parquet"))
    else:
        episodes = _jsonl(root / "meta/episodes.jsonl")
        stats = [_arrays(row["stats"]) for row in _jsonl(root / "meta/episodes_stats.jsonl")]
        tasks = [row["task"] for row in _jsonl(root / "meta/tasks.jsonl")]
        data_files = [
            root / info["data_path"].format(episode_chunk=e["episode_index"] // info["chunks_size"], **e)
            for e in episodes
        ]
    tables = [pq.read_table(f) for f in data_files]
    rows = pd.concat([table.to_pandas() for table in tables], ignore_index=True)
    return Loaded(info, rows, episodes, tasks, stats, [table.schema for table in tables])


def video_file(root: Path, loaded: Loaded, row: dict[str, Any], key: str) -> tuple[Path, float]:
    """The mp4 holding an episode's camera and the episode's from_timestamp in it."""
    info = loaded.info
    if info["codebase_version"] == "v3.0":
        path = info["video_path"].format(
            video_key=key,
            chunk_index=row[f"videos/{key}/chunk_index"],
            file_index=row[f"videos/{key}/file_index"],
        )
        return root / path, float(row[f"videos/{key}/from_timestamp"])
    chunk = row["episode_index"] // info["chunks_size"]
    return root / info["video_path"].format(episode_chunk=chunk, video_key=key, **row), 0.0


def decode_all(path: Path) -> dict[Fraction, np.ndarray]:
    """Every frame of an mp4 by exact presentation time."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        base = Fraction(stream.time_base)
        frames: dict[Fraction, np.ndarray] = {}
        for frame in container.decode(stream):
            assert frame.pts is not None
            frames[frame.pts * base] = frame.to_ndarray(format="rgb24")
        return frames


def frame_at(frames: dict[Fraction, np.ndarray], seconds: float) -> np.ndarray:
    """lerobot's lookup: the frame within 1e-4 s of ``seconds``."""
    matches = [image for time, image in frames.items() if abs(float(time) - seconds) <= 1e-4]
    assert len(matches) == 1, f"{len(matches)} frames at {seconds}"
    return matches[0]


def check_dataset(
    root: Path, episodes: Sequence[Episode], *, format: str, spec: DatasetSpec = SPEC, codec: str = "h264"
) -> Loaded:
    """Assert every value of the dataset at ``root`` against the episodes it holds."""
    loaded = load(root)
    info = loaded.info
    total = sum(e.length for e in episodes)
    task_names = list(dict.fromkeys(t for e in episodes for t in e.tasks))
    video_keys = [c.key for c in spec.cameras]
    # info.json
    assert info["codebase_version"] == format
    assert (info["robot_type"], info["fps"]) == (spec.robot_type, spec.fps)
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (
        len(episodes),
        total,
        len(task_names),
    )
    assert info["splits"] == {"train": f"0:{len(episodes)}"}
    assert list(info["features"]) == [v.key for v in spec.vectors] + video_keys + [
        "timestamp", "frame_index", "episode_index", "index", "task_index",
    ]  # fmt: skip
    for vector in spec.vectors:
        assert info["features"][vector.key] == {
            "dtype": "float32",
            "shape": [vector.size],
            "names": list(vector.names),
        }
    for camera in spec.cameras:
        feature = info["features"][camera.key]
        assert feature["shape"] == [camera.height, camera.width, 3] and feature["dtype"] == "video"
        assert feature["info"] == {
            "video.height": camera.height, "video.width": camera.width, "video.codec": codec,
            "video.pix_fmt": "yuv420p", "video.is_depth_map": False, "video.fps": spec.fps, "video.channels": 3,
            "has_audio": False,
        }  # fmt: skip
    if format == "v3.0":
        assert list(info)[:5] == [
            "codebase_version",
            "robot_type",
            "total_episodes",
            "total_frames",
            "total_tasks",
        ]
        assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
        assert info["video_path"] == (
            "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4" if video_keys else None
        )
    else:
        assert info["total_videos"] == len(episodes) * len(video_keys)
        assert info["total_chunks"] == 1 and info["chunks_size"] == 1000
        assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    # tasks
    assert loaded.tasks == task_names
    # rows
    rows = loaded.rows
    assert list(rows.columns) == [v.key for v in spec.vectors] + list(info["features"])[-5:]
    assert len(rows) == total
    expected_rows = [
        (e, k, content, e_task)
        for e, item in enumerate(episodes)
        for k, (content, e_task) in enumerate(zip(item.ids, item.tasks, strict=True))
    ]
    for index, (e, k, content, task) in enumerate(expected_rows):
        row = rows.iloc[index]
        assert (row["episode_index"], row["frame_index"], row["index"]) == (e, k, index)
        assert row["task_index"] == task_names.index(task)
        assert row["timestamp"] == np.float32(k / spec.fps)
        for vector in spec.vectors:
            expected_value = VECTORS[vector.key](content)
            # exact values; a one-element vector is a plain float32 scalar per row
            assert np.array_equal(row[vector.key], expected_value[0] if vector.size == 1 else expected_value)
    assert rows["timestamp"].dtype == np.float32
    for schema in loaded.schemas:
        for vector in spec.vectors:
            assert schema.field(vector.key).type == vector_column_type(vector.size), vector.key
    # episodes metadata
    start = 0
    position: dict[str, dict[tuple[int, int], int]] = {
        key: {} for key in video_keys
    }  # (chunk, file) -> before
    for e, (item, meta) in enumerate(zip(episodes, loaded.episodes, strict=True)):
        assert meta["episode_index"] == e and meta["length"] == item.length
        assert list(meta["tasks"]) == list(dict.fromkeys(item.tasks))
        if format == "v3.0":
            assert (meta["dataset_from_index"], meta["dataset_to_index"]) == (start, start + item.length)
            for key in video_keys:
                where = (meta[f"videos/{key}/chunk_index"], meta[f"videos/{key}/file_index"])
                before = position[key].get(where, 0)
                assert meta[f"videos/{key}/from_timestamp"] == before / spec.fps
                assert meta[f"videos/{key}/to_timestamp"] == (before + item.length) / spec.fps
                position[key][where] = before + item.length
        start += item.length
    # per-episode stats
    start = 0
    for e, (item, stats) in enumerate(zip(episodes, loaded.stats, strict=True)):
        keys = STAT_KEYS + (QUANTILES if format == "v3.0" else ())
        expected = {
            **{
                vector.key: np.stack([VECTORS[vector.key](c) for c in item.ids]).astype(np.float64)
                for vector in spec.vectors
            },
            "index": np.arange(start, start + item.length)[:, None],
            "episode_index": np.full((item.length, 1), e),
            "frame_index": np.arange(item.length)[:, None],
            "task_index": np.array([task_names.index(t) for t in item.tasks])[:, None],
        }
        for feature, values in expected.items():
            assert set(stats[feature]) == set(keys), feature
            assert stats[feature]["mean"].shape == values.shape[1:], feature  # (1,) for scalar columns
            np.testing.assert_allclose(stats[feature]["min"], values.min(axis=0))
            np.testing.assert_allclose(stats[feature]["max"], values.max(axis=0))
            np.testing.assert_allclose(stats[feature]["mean"], values.mean(axis=0), rtol=1e-6)
            np.testing.assert_allclose(stats[feature]["std"], values.std(axis=0), rtol=1e-6, atol=1e-9)
            assert stats[feature]["count"].tolist() == [item.length]
            if format == "v3.0":
                for q in QUANTILES:
                    assert (stats[feature][q] >= values.min(axis=0) - 1e-6).all()
                    assert (stats[feature][q] <= values.max(axis=0) + 1e-6).all()
        for key in video_keys:
            assert set(stats[key]) == set(keys)
            for stat in keys:
                assert stats[key][stat].shape == ((1,) if stat == "count" else (3, 1, 1)), (key, stat)
            assert 0 <= stats[key]["min"].min() and stats[key]["max"].max() <= 1
        start += item.length
    # aggregated stats (v3.0 stats.json)
    if format == "v3.0":
        aggregated = _arrays(json.loads((root / "meta/stats.json").read_text()))
        for vector in spec.vectors:
            values = np.stack([VECTORS[vector.key](c) for item in episodes for c in item.ids]).astype(
                np.float64
            )
            assert aggregated[vector.key]["mean"].shape == (vector.size,)
            np.testing.assert_allclose(aggregated[vector.key]["mean"], values.mean(axis=0), rtol=1e-6)
            np.testing.assert_allclose(
                aggregated[vector.key]["std"], values.std(axis=0), rtol=1e-6, atol=1e-9
            )
            np.testing.assert_allclose(aggregated[vector.key]["min"], values.min(axis=0))
        assert aggregated["index"]["max"].tolist() == [total - 1]
        assert aggregated["index"]["count"].tolist() == [total]
        assert set(aggregated) == set(info["features"])
        for key in video_keys:
            assert aggregated[key]["mean"].shape == (3, 1, 1)
    # every decoded video frame, looked up as lerobot does
    cache: dict[Path, dict[Fraction, np.ndarray]] = {}
    start = 0
    for item, meta in zip(episodes, loaded.episodes, strict=True):
        for camera_index, key in enumerate(video_keys):
            path, from_timestamp = video_file(root, loaded, meta, key)
            if path not in cache:
                data = path.read_bytes()
                assert data.index(b"moov") < data.index(b"mdat"), f"{path}: index not at the front"
            frames = cache.setdefault(path, decode_all(path))
            for k, content in enumerate(item.ids):
                timestamp = float(rows["timestamp"].iloc[start + k])
                pattern = decode_pattern(frame_at(frames, from_timestamp + timestamp))
                assert (pattern.frame, pattern.camera) == (content, camera_index)
        start += item.length
    return loaded


#: Three episodes of different lengths whose tasks overlap (union order: pick cube, place cube, wave).
THREE_EPISODES = (
    episode(0, ["pick cube"] * 5),
    episode(100, ["place cube"] * 3 + ["pick cube"] * 5),
    episode(200, ["wave", "wave", "place cube"]),
)


class Kit:
    """What the tests of this package build and check datasets with (a fixture: nothing is imported from
    conftest, whose module name other test packages share)."""

    fps = FPS
    spec = SPEC
    gripper_spec = GRIPPER_SPEC
    x264 = X264
    front, wrist = FRONT, WRIST
    three_episodes = THREE_EPISODES
    Episode = Episode
    episode = staticmethod(episode)
    frame_of = staticmethod(frame_of)
    state_of = staticmethod(state_of)
    write = staticmethod(write_dataset)
    check = staticmethod(check_dataset)
    load = staticmethod(load)
    decode_all = staticmethod(decode_all)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    """Builders and checkers of small datasets with known content."""
    return Kit
