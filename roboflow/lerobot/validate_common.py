"""Checks shared by the v2.1 and v3.0 validators: info.json, parquet schema, rows, stats, videos."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from roboflow.errors import DatasetError
from roboflow.lerobot.images import IMAGE_TYPE
from roboflow.lerobot.metafiles import read_parquet
from roboflow.lerobot.spec import DEFAULT_FEATURES
from roboflow.lerobot.videoprobe import VideoProbe, probe_video

__all__ = [
    "DEFAULT_FEATURES",
    "ROW_COLUMNS",
    "TOLERANCE_S",
    "Problem",
    "check_episode_frames",
    "check_features",
    "check_rows",
    "check_schema",
    "check_stats",
    "check_video_content",
    "check_video_stream",
    "read_row_columns",
    "same_column_type",
    "stats_features",
]

#: lerobot's timestamp tolerance (seconds) for frame lookups and its v2.1 load check.
TOLERANCE_S = 1e-4

#: The bookkeeping columns every row check reads.
ROW_COLUMNS = ("index", "episode_index", "frame_index", "timestamp", "task_index")

_VIDEO_INFO_KEYS = (
    "video.height",
    "video.width",
    "video.codec",
    "video.pix_fmt",
    "video.is_depth_map",
    "video.fps",
    "video.channels",
    "has_audio",
)
_SCALAR_TYPES = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "int8": pa.int8(),
    "uint8": pa.uint8(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One violated invariant.

    Attributes:
        path: The file the problem is in, relative to the dataset root (``meta/info.json``).
        message: What is wrong, in words.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def check_features(features: Any, fps: int) -> list[Problem]:
    """Check the ``features`` block of info.json."""
    where = "meta/info.json"
    if not isinstance(features, dict):
        return [Problem(where, "features must be an object")]
    problems: list[Problem] = []
    for name, expected in DEFAULT_FEATURES.items():
        found = features.get(name)
        if found is None:
            problems.append(Problem(where, f"feature {name!r} is missing"))
        elif {k: found.get(k) for k in expected} != expected:
            problems.append(Problem(where, f"feature {name!r} must be {expected}, found {found}"))
    for name, feature in features.items():
        problems.extend(
            Problem(where, f"feature {name!r}: {text}") for text in _feature_problems(name, feature, fps)
        )
    return problems


def _feature_problems(name: str, feature: Any, fps: int) -> list[str]:
    if "/" in name:
        return ["feature names must not contain '/'"]
    if not isinstance(feature, dict):
        return ["must be an object"]
    dtype, shape = feature.get("dtype"), feature.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(n, int) and n > 0 for n in shape):
        return [f"shape must be a list of positive integers, found {shape!r}"]
    if dtype in ("video", "image"):
        if len(shape) != 3 or feature.get("names") != ["height", "width", "channels"]:
            return ["an image/video feature needs shape [H, W, C] and names ['height', 'width', 'channels']"]
        return _video_info_problems(feature, fps) if dtype == "video" else []
    if dtype not in _SCALAR_TYPES:
        return [f"unknown dtype {dtype!r}"]
    if "image" in name:
        return [
            "lerobot takes every feature whose name contains 'image' for a camera (stats of shape (3, 1, 1))"
        ]
    names = feature.get("names")
    if isinstance(names, list) and len(shape) == 1 and len(names) != shape[0]:
        return [f"has {len(names)} names for shape {shape}"]
    return []


def _video_info_problems(feature: dict[str, Any], fps: int) -> list[str]:
    info = feature.get("info")
    if not isinstance(info, dict):
        return ["a video feature needs an 'info' block"]
    missing = [key for key in _VIDEO_INFO_KEYS if key not in info]
    if missing:
        return [f"video info lacks {', '.join(missing)}"]
    height, width, channels = feature["shape"]
    problems = []
    if (info["video.height"], info["video.width"], info["video.channels"]) != (height, width, channels):
        problems.append("video info height/width/channels disagree with the shape")
    if not isinstance(info["video.fps"], int) or info["video.fps"] != fps:
        problems.append(f"video.fps must be the integer dataset fps {fps}, found {info['video.fps']!r}")
    if info["video.is_depth_map"] is not False and channels == 3:
        problems.append("an RGB camera must have video.is_depth_map false")
    return problems


def column_types(features: Mapping[str, Any]) -> dict[str, pa.DataType | None]:
    """Expected parquet column types; None for a column whose type is not checked (multi-dim arrays)."""
    types: dict[str, pa.DataType | None] = {}
    for name, feature in features.items():
        if not isinstance(feature, dict) or feature.get("dtype") == "video":
            continue
        dtype, shape = feature.get("dtype"), feature.get("shape") or [1]
        if dtype == "image":
            types[name] = IMAGE_TYPE
        elif dtype in _SCALAR_TYPES and len(shape) == 1:
            scalar = _SCALAR_TYPES[dtype]
            types[name] = scalar if shape == [1] else pa.list_(scalar, shape[0])
        else:
            types[name] = None
    return types


def check_schema(relpath: str, schema: pa.Schema, features: Mapping[str, Any]) -> list[Problem]:
    """Check that a data file has exactly the feature columns, with their types."""
    expected = column_types(features)
    problems = []
    found = {field.name: field.type for field in schema if not field.name.startswith("__index_level_")}
    for name in expected.keys() - found.keys():
        problems.append(Problem(relpath, f"column {name!r} is missing"))
    for name in found.keys() - expected.keys():
        problems.append(Problem(relpath, f"column {name!r} is not a feature of info.json"))
    for name, want in expected.items():
        have = found.get(name)
        if want is not None and have is not None and not same_column_type(have, want):
            why = (
                " (lerobot reads a feature of shape [1] as a plain column and cannot load a list of one)"
                if pa.types.is_fixed_size_list(have) and have.list_size == 1 and not pa.types.is_nested(want)
                else ""
            )
            problems.append(Problem(relpath, f"column {name!r} has type {have}, expected {want}{why}"))
    return problems


def same_column_type(have: pa.DataType, want: pa.DataType) -> bool:
    """Whether two column types hold the same values: list types may differ in the name of their child
    field (lerobot 0.4 writes ``element``, pyarrow ``item``)."""
    if pa.types.is_fixed_size_list(have) and pa.types.is_fixed_size_list(want):
        return bool(have.list_size == want.list_size and same_column_type(have.value_type, want.value_type))
    if pa.types.is_list(have) and pa.types.is_list(want):
        return same_column_type(have.value_type, want.value_type)
    return bool(have == want)


def read_row_columns(path: Path) -> dict[str, np.ndarray]:
    """Read the bookkeeping columns of a data file as numpy arrays."""
    try:
        table = read_parquet(path, list(ROW_COLUMNS))
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(f"cannot read rows: {err}", path=str(path)) from err
    return {name: table.column(name).to_numpy() for name in ROW_COLUMNS}


def check_rows(
    relpath: str,
    rows: Mapping[str, np.ndarray],
    *,
    episode: int,
    first_index: int,
    fps: int,
    task_names: Sequence[str],
    episode_tasks: Iterable[str],
) -> list[Problem]:
    """Check the rows of one episode: indices, timestamps and tasks."""
    where = f"episode {episode}"
    length = len(rows["index"])
    frames = np.arange(length, dtype=np.int64)
    expected = {
        "episode_index": np.full(length, episode, dtype=np.int64),
        "index": frames + first_index,
        "frame_index": frames,
    }
    problems = []
    for column, want in expected.items():
        bad = np.flatnonzero(rows[column] != want)
        if bad.size:
            row = int(bad[0])
            problems.append(
                Problem(
                    relpath, f"{where}: {column} of frame {row} is {rows[column][row]}, expected {want[row]}"
                )
            )
    timestamps = (frames / fps).astype(np.float32)
    bad = np.flatnonzero(rows["timestamp"] != timestamps)
    if bad.size:
        row = int(bad[0])
        problems.append(
            Problem(
                relpath,
                f"{where}: timestamp of frame {row} is {np.format_float_positional(rows['timestamp'][row])}, "
                f"expected frame_index/fps = {np.format_float_positional(timestamps[row])}",
            )
        )
    task_index = rows["task_index"]
    if length and (task_index.min() < 0 or task_index.max() >= len(task_names)):
        problems.append(Problem(relpath, f"{where}: task_index outside 0..{len(task_names) - 1}"))
    else:
        used = {task_names[int(i)] for i in np.unique(task_index)}
        if used != set(episode_tasks):
            problems.append(
                Problem(
                    relpath,
                    f"{where}: rows use tasks {sorted(used)} but the episode lists {sorted(episode_tasks)}",
                )
            )
    return problems


def stats_features(features: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The features that must have stats, with the shape of their min/max/mean/std."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, feature in features.items():
        dtype = feature.get("dtype") if isinstance(feature, dict) else None
        if dtype in ("video", "image"):
            shapes[name] = (feature["shape"][2], 1, 1)
        elif dtype in _SCALAR_TYPES and dtype != "string":
            shapes[name] = tuple(feature.get("shape") or [1])
    return shapes


_BASE_STATS = ("min", "max", "mean", "std", "count")
_QUANTILES = ("q01", "q10", "q50", "q90", "q99")


def check_stats(
    relpath: str, where: str, stats: Any, features: Mapping[str, Any], *, quantiles: bool
) -> list[Problem]:
    """Check a stats block ``{feature: {min, max, ...}}``: every numeric feature, every key, right shapes."""
    if not isinstance(stats, dict):
        return [Problem(relpath, f"{where}: stats must be an object")]
    problems = []
    keys = _BASE_STATS + (_QUANTILES if quantiles else ())
    for name, shape in stats_features(features).items():
        block = stats.get(name)
        if not isinstance(block, dict):
            problems.append(Problem(relpath, f"{where}: no stats for feature {name!r}"))
            continue
        missing = [key for key in keys if key not in block]
        if missing:
            problems.append(Problem(relpath, f"{where}: stats of {name!r} lack {', '.join(missing)}"))
        image = features[name]["dtype"] in ("video", "image")
        for key in keys:
            if key not in block:
                continue
            try:
                value = np.asarray(block[key], dtype=np.float64)
            except (TypeError, ValueError):
                problems.append(Problem(relpath, f"{where}: stats {name}/{key} is not numeric"))
                continue
            want = (1,) if key == "count" else shape
            if value.shape != want and not (image and key != "count" and value.shape == (1, 1, 1)):
                problems.append(
                    Problem(relpath, f"{where}: stats {name}/{key} has shape {value.shape}, expected {want}")
                )
            elif image and key in ("min", "max", "mean") and ((value < 0).any() or (value > 1).any()):
                problems.append(Problem(relpath, f"{where}: image stats {name}/{key} must lie in [0, 1]"))
    return problems


def check_video_stream(relpath: str, probe: VideoProbe, feature: Mapping[str, Any]) -> list[Problem]:
    """Check that a video's stream matches the info block of its feature."""
    info = feature.get("info") or {}
    found = {"video.codec": probe.codec, "video.width": probe.width, "video.height": probe.height}
    if probe.pix_fmt is not None:
        found["video.pix_fmt"] = probe.pix_fmt
    return [
        Problem(relpath, f"stream has {key} {value!r} but info.json says {info.get(key)!r}")
        for key, value in found.items()
        if info.get(key) != value
    ]


def check_episode_frames(
    relpath: str, times: np.ndarray, *, episode: int, start: float, length: int, fps: int
) -> list[Problem]:
    """Check that frames ``start + k/fps`` (k < length) exist in ``times`` (sorted seconds), and only those."""
    stop = start + length / fps
    first = int(np.searchsorted(times, start - TOLERANCE_S, side="left"))
    last = int(np.searchsorted(times, stop - TOLERANCE_S, side="left"))
    found = np.asarray(times[first:last], dtype=np.float64)
    where = f"episode {episode}"
    if found.size != length:
        return [
            Problem(
                relpath,
                f"{where}: {found.size} frames between {start:.6f}s and {stop:.6f}s, expected {length}",
            )
        ]
    want = start + np.arange(length, dtype=np.float64) / fps
    bad = np.flatnonzero(np.abs(found - want) > TOLERANCE_S)
    if bad.size:
        k = int(bad[0])
        return [Problem(relpath, f"{where}: frame {k} is shown at {found[k]:.6f}s, expected {want[k]:.6f}s")]
    return []


def probe_or_problem(path: Path, relpath: str) -> VideoProbe | Problem:
    """Probe a video, turning a read failure into a problem."""
    try:
        return probe_video(path)
    except DatasetError as err:
        return Problem(relpath, err.message)


def check_video_content(
    path: Path,
    relpath: str,
    feature: Mapping[str, Any],
    spans: Sequence[tuple[int, float, int]],
    *,
    fps: int,
    mismatch: str,
) -> list[Problem]:
    """Probe one video file and check its stream and the frames of every episode it holds.

    Args:
        path: The video file.
        relpath: Its path relative to the dataset root, for the problems.
        feature: The video feature of info.json the file belongs to.
        spans: ``(episode_index, start seconds, length)`` of each episode in the file.
        fps: The dataset fps.
        mismatch: The end of the message ``has N frames...`` when the timing is right but the file's frame
            count differs from the episodes' total length.
    """
    probe = probe_or_problem(path, relpath)
    if isinstance(probe, Problem):
        return [probe]
    problems = check_video_stream(relpath, probe, feature)
    times = np.asarray(probe.times())
    timing = [
        problem
        for episode, start, length in spans
        for problem in check_episode_frames(
            relpath, times, episode=episode, start=start, length=length, fps=fps
        )
    ]
    problems += timing
    if not timing and probe.frames != sum(length for _, _, length in spans):
        problems.append(Problem(relpath, f"has {probe.frames} frames{mismatch}"))
    return problems
