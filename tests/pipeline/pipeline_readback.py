"""Read a written dataset back (rows, video frames, provenance) and compute synth ground truth, for the tests.

``CONFIG`` maps the topics of synth recordings with ``CAMERAS``; :func:`check_episode` checks an episode it made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq

from roboflow.synth import CameraSpec, SynthSpec, stream_times
from roboflow.synth.truth import action, frame_number_from_image, joint_positions, seconds

NS = 1_000_000_000

CAMERAS = (CameraSpec("cam_high", "jpeg", 64, 48), CameraSpec("cam_wrist", "rgb8", 64, 48))

#: The mappings of a synth recording's default vector topics (joint states, action).
VECTOR_MAPPINGS = """
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"

[[mappings]]
topic = "/action"
feature = "action"
mapping_type = "action"
"""

#: The four mappings of a synth recording's default topics (both cameras, joint states, action).
SYNTH_MAPPINGS = """
[[mappings]]
topic = "/cam_high/image_raw/compressed"
feature = "observation.images.cam_high"
mapping_type = "image"

[[mappings]]
topic = "/cam_wrist/image_raw"
feature = "observation.images.cam_wrist"
mapping_type = "image"
""" + VECTOR_MAPPINGS

CONFIG = (
    """
[dataset]
name = "synth"
fps = 30
task = "wave"
robot_type = "synthbot"
"""
    + SYNTH_MAPPINGS
    + """
[video]
codec = "libx264"
preset = "ultrafast"
crf = 18
"""
)


@dataclass
class Episode:
    index: int
    rows: dict[str, np.ndarray]
    tasks: list[str]
    videos: dict[str, list[np.ndarray]]


def read_dataset(root: Path) -> tuple[dict[str, Any], list[Episode], dict[str, Any]]:
    """info.json, the episodes (rows by column, decoded video frames) and meta/roboflow.json."""
    info = json.loads((root / "meta" / "info.json").read_text())
    provenance = json.loads((root / "meta" / "roboflow.json").read_text())
    cameras = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    if info["codebase_version"] == "v3.0":
        return info, _v30(root, info, cameras), provenance
    return info, _v21(root, info, cameras), provenance


def _columns(table: Any) -> dict[str, np.ndarray]:
    out = {}
    for name in table.column_names:
        column = table.column(name).to_pylist()
        out[name] = np.asarray(column)
    return out


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _v30(root: Path, info: dict[str, Any], cameras: list[str]) -> list[Episode]:
    episodes_meta = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    data = _columns(pq.read_table(root / "data/chunk-000/file-000.parquet"))
    videos = {key: _frames(root / f"videos/{key}/chunk-000/file-000.mp4") for key in cameras}
    out = []
    for meta in episodes_meta:
        lo, hi = meta["dataset_from_index"], meta["dataset_to_index"]
        rows = {name: values[lo:hi] for name, values in data.items()}
        frames = {}
        for key in cameras:
            first = round(meta[f"videos/{key}/from_timestamp"] * info["fps"])
            frames[key] = videos[key][first:first + meta["length"]]
        out.append(Episode(meta["episode_index"], rows, meta["tasks"], frames))
    return out


def _v21(root: Path, info: dict[str, Any], cameras: list[str]) -> list[Episode]:
    metas = [json.loads(line) for line in (root / "meta/episodes.jsonl").read_text().splitlines()]
    out = []
    for meta in metas:
        e = meta["episode_index"]
        rows = _columns(pq.read_table(root / f"data/chunk-000/episode_{e:06d}.parquet"))
        frames = {key: _frames(root / f"videos/chunk-000/{key}/episode_{e:06d}.mp4") for key in cameras}
        out.append(Episode(e, rows, meta["tasks"], frames))
    return out


def frame_times(alignment: dict[str, Any], length: int) -> np.ndarray:
    """The timeline's frame times (ns) of an episode, from its provenance alignment report."""
    fps, t0 = alignment["fps"], alignment["start_ns"]
    k = np.arange(length, dtype=np.int64)
    return t0 + (2 * k * NS + fps) // (2 * fps)


def hold_index(times: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the latest sample at or before each t."""
    return np.searchsorted(times, t, side="right") - 1


def nearest_index(times: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the sample nearest each t (a tie goes to the earlier one)."""
    before = np.clip(hold_index(times, t), 0, len(times) - 1)
    after = np.clip(before + 1, 0, len(times) - 1)
    pick_after = (times[after] - t < t - times[before]) | (times[before] > t)
    return np.where(pick_after, after, before)


def expected_state_hold(spec: SynthSpec, t: np.ndarray, topic: str = "/joint_states") -> np.ndarray:
    stamps, logs = stream_times(spec, topic)
    chosen = hold_index(logs, t)
    return joint_positions(seconds(stamps[chosen], spec.start_time_ns), spec.n_joints)


def expected_action_hold(spec: SynthSpec, t: np.ndarray, topic: str = "/action") -> np.ndarray:
    _, logs = stream_times(spec, topic)
    chosen = hold_index(logs, t)
    return action(seconds(logs[chosen], spec.start_time_ns)[:, None], np.arange(spec.n_joints))


def expected_camera_frames(spec: SynthSpec, topic: str, t: np.ndarray) -> np.ndarray:
    _, logs = stream_times(spec, topic)
    return nearest_index(logs, t)


def shown_frames(frames: list[np.ndarray]) -> list[int]:
    return [frame_number_from_image(f) for f in frames]


def check_episode(episode, alignment, spec: SynthSpec) -> None:  # type: ignore[no-untyped-def]
    """Every value and image of an episode equals the ground truth under the default policies."""
    length = len(episode.rows["frame_index"])
    assert length == alignment["frames_written"] > 0
    np.testing.assert_array_equal(episode.rows["frame_index"], np.arange(length))
    np.testing.assert_allclose(episode.rows["timestamp"], (np.arange(length) / 30).astype(np.float32))
    t = frame_times(alignment, length)
    np.testing.assert_allclose(np.stack(episode.rows["observation.state"]), expected_state_hold(spec, t), atol=1e-6)
    np.testing.assert_allclose(np.stack(episode.rows["action"]), expected_action_hold(spec, t), atol=1e-6)
    for camera, topic in (("cam_high", "/cam_high/image_raw/compressed"), ("cam_wrist", "/cam_wrist/image_raw")):
        frames = episode.videos[f"observation.images.{camera}"]
        assert len(frames) == length
        assert shown_frames(frames) == expected_camera_frames(spec, topic, t).tolist()
