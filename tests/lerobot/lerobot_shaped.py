"""Datasets shaped exactly as the real lerobot writes them, built here with pyarrow (CI has no lerobot).

Mirrors, file by file, what ``LeRobotDataset.create`` + ``add_frame`` + ``save_episode`` wrote in lerobot
0.4.4 (v3.0) and 0.3.3 (v2.1) for the datasets of ``tests/compat/test_lerobot_written.py`` (2 episodes x 40
frames, two tasks; float32 state and action, a camera as video or as PNG images, bool, int64 and string
features):

* data parquet: vectors ``fixed_size_list<element: float>`` (datasets names the child ``element``), images
  ``struct<bytes, path>`` with the PNG bytes and ``frame-000000.png`` as path, bool/int64/string scalars, the
  ``huggingface`` schema metadata (``List`` types in 0.4.4, ``Sequence`` in 0.3.3), one row group per episode;
* stats: ``min``/``max`` in the feature's dtype (int64 for integers, bool for bools), no stats for strings,
  image stats ``(3, 1, 1)``; v3.0 ``meta/episodes`` with list columns, v2.1 ``episodes_stats.jsonl``;
* an episode's ``tasks`` in set order, an empty ``images/<key>`` directory left behind.

Frame ``c`` shows :func:`render_frame` of content ``c``; every other value is a function of ``c``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.lerobot.stats import feature_stats, image_stats, pixel_stride, sample_indices
from roboflow.media.encoder import VideoEncoder
from roboflow.media.frames import PixelLayout, to_video_frame
from roboflow.media.probe import video_info
from roboflow.media.settings import VideoSettings
from roboflow.synth.truth import render_frame

__all__ = ["CAMERA", "TASKS", "VALUES", "write_lerobot_dataset"]

FPS = 10
CAMERA = "observation.images.front"
TASKS = (("pick the red cube",) * 40, ("place it in the bowl",) * 20 + ("pick the red cube",) * 20)
_X264 = VideoSettings(codec="libx264", preset="ultrafast", crf=18)

#: Feature -> (info.json entry, value of content c).
VALUES: dict[str, tuple[dict[str, Any], Callable[[int], Any]]] = {
    "observation.state": (
        {"dtype": "float32", "shape": [3], "names": ["j0", "j1", "j2"]},
        lambda c: np.array([c, c * 0.5, -c], dtype=np.float32),
    ),
    "action": (
        {"dtype": "float32", "shape": [2], "names": ["j0", "j1"]},
        lambda c: np.array([c + 0.25, 1.0], dtype=np.float32),
    ),
    "observation.contact": ({"dtype": "bool", "shape": [1], "names": None}, lambda c: c % 3 == 0),
    "observation.step": ({"dtype": "int64", "shape": [1], "names": None}, lambda c: c * 7),
    "observation.mode": ({"dtype": "string", "shape": [1], "names": None}, lambda c: f"mode-{c % 2}"),
}
_DEFAULTS = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
_ARROW = {"float32": pa.float32(), "int64": pa.int64(), "bool": pa.bool_(), "string": pa.string()}


def _png(image: np.ndarray) -> bytes:
    context = av.CodecContext.create("png", "w")
    context.width, context.height, context.pix_fmt = image.shape[1], image.shape[0], "rgb24"
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    return b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode(None)])


def _features(camera: str, video: dict[str, Any] | None, *, extra: bool) -> dict[str, Any]:
    keys = list(VALUES) if extra else list(VALUES)[:2]
    features = {key: dict(VALUES[key][0]) for key in keys[:2]}
    features[CAMERA] = {"dtype": camera, "shape": [48, 64, 3], "names": ["height", "width", "channels"]}
    if video is not None:
        features[CAMERA]["info"] = video
    features.update({key: dict(VALUES[key][0]) for key in keys[2:]})
    features.update({key: dict(value) for key, value in _DEFAULTS.items()})
    return features


def _hf_metadata(features: dict[str, Any], version: str) -> dict[bytes, bytes]:
    described: dict[str, Any] = {}
    for key, feature in features.items():
        if feature["dtype"] == "video":
            continue
        if feature["dtype"] == "image":
            described[key] = {"_type": "Image"}
        elif feature["shape"] == [1]:
            described[key] = {"dtype": feature["dtype"], "_type": "Value"}
        else:
            kind = "List" if version == "v3.0" else "Sequence"
            value = {"dtype": feature["dtype"], "_type": "Value"}
            described[key] = {"feature": value, "length": feature["shape"][0], "_type": kind}
    return {b"huggingface": json.dumps({"info": {"features": described}, "fingerprint": "0" * 16}).encode()}


def _rows(
    features: dict[str, Any],
    ids: list[int],
    episode: int,
    first_index: int,
    tasks: list[str],
    task_names: list[str],
) -> dict[str, pa.Array]:
    columns: dict[str, pa.Array] = {}
    for key, feature in features.items():
        if feature["dtype"] == "video" or key in _DEFAULTS:
            continue
        if feature["dtype"] == "image":
            cells = [
                {"bytes": _png(render_frame(c, 64, 48, camera=0)), "path": f"frame-{k:06d}.png"}
                for k, c in enumerate(ids)
            ]
            columns[key] = pa.array(cells, type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
        elif feature["shape"] == [1]:
            columns[key] = pa.array([VALUES[key][1](c) for c in ids], type=_ARROW[feature["dtype"]])
        else:
            values = pa.array(np.concatenate([VALUES[key][1](c) for c in ids]), type=pa.float32())
            element = pa.list_(pa.field("element", pa.float32()), feature["shape"][0])
            columns[key] = pa.FixedSizeListArray.from_arrays(values, type=element)
    length = len(ids)
    columns["timestamp"] = pa.array((np.arange(length) / FPS).astype(np.float32))
    columns["frame_index"] = pa.array(np.arange(length, dtype=np.int64))
    columns["episode_index"] = pa.array(np.full(length, episode, dtype=np.int64))
    columns["index"] = pa.array(np.arange(first_index, first_index + length, dtype=np.int64))
    columns["task_index"] = pa.array([task_names.index(t) for t in tasks], type=pa.int64())
    return columns


def _stats(
    features: dict[str, Any], columns: dict[str, pa.Array], ids: list[int], *, quantiles: bool
) -> dict[str, dict[str, np.ndarray]]:
    """lerobot's episode stats: min/max in the feature's dtype, the rest as float64, none for strings."""
    stats: dict[str, dict[str, np.ndarray]] = {}
    for key, feature in features.items():
        dtype = feature["dtype"]
        if dtype == "string":
            continue
        if dtype in ("image", "video"):
            stride = pixel_stride(48, 64)
            sampled = np.stack(
                [render_frame(ids[i], 64, 48, camera=0)[::stride, ::stride] for i in sample_indices(len(ids))]
            )
            values = image_stats(sampled)
        else:
            array = columns[key].flatten() if feature["shape"] != [1] else columns[key]
            raw = np.asarray(array.to_numpy(zero_copy_only=False))
            raw = raw.reshape(len(ids), -1) if feature["shape"] != [1] else raw
            values = feature_stats(raw.astype(np.float64))
            if dtype in ("int64", "bool"):
                values["min"], values["max"] = (
                    raw.min(axis=0, keepdims=raw.ndim == 1),
                    raw.max(axis=0, keepdims=raw.ndim == 1),
                )
        stats[key] = {name: value for name, value in values.items() if quantiles or not name.startswith("q")}
    return stats


def _nested(value: np.ndarray) -> pa.DataType:
    leaf = pa.bool_() if value.dtype == bool else pa.int64() if value.dtype.kind == "i" else pa.float64()
    for _ in range(value.ndim):
        leaf = pa.list_(leaf)
    return leaf


def _video(root: Path, relpath: str, ids: list[int]) -> dict[str, Any]:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder = VideoEncoder(path, width=64, height=48, fps=FPS, settings=_X264)
    for c in ids:
        encoder.encode(to_video_frame(render_frame(c, 64, 48, camera=0), PixelLayout.RGB))
    encoder.close()
    return video_info(path)


def write_lerobot_dataset(
    root: Path, *, version: str, camera: str, first_id: int = 0, extra: bool = True
) -> list[int]:
    """Write a dataset shaped as lerobot 0.4.4 (``v3.0``) or 0.3.3 (``v2.1``) writes it; returns the content
    id of every row. ``extra=False`` leaves out the bool, int64 and string features (the features a roboflow
    shard can have too)."""
    task_names = list(dict.fromkeys(t for episode in TASKS for t in episode))
    ids, episodes = [], []
    for number, tasks in enumerate(TASKS):
        episodes.append(
            (number, list(range(first_id + len(ids), first_id + len(ids) + len(tasks))), list(tasks))
        )
        ids.extend(episodes[-1][1])
    (root / "images" / CAMERA).mkdir(parents=True)
    video = None
    if camera == "video":
        whole = "videos/{k}/chunk-000/file-000.mp4" if version == "v3.0" else None
        if whole:
            video = _video(root, whole.format(k=CAMERA), ids)
        else:
            for number, episode_ids, _ in episodes:
                video = _video(root, f"videos/chunk-000/{CAMERA}/episode_{number:06d}.mp4", episode_ids)
    features = _features(camera, video, extra=extra)
    metadata = _hf_metadata(features, version)
    tables, all_stats, first = [], [], 0
    for number, episode_ids, tasks in episodes:
        columns = _rows(features, episode_ids, number, first, tasks, task_names)
        tables.append(pa.table(columns).replace_schema_metadata(metadata))
        all_stats.append(_stats(features, columns, episode_ids, quantiles=version == "v3.0"))
        first += len(episode_ids)
    (root / "meta").mkdir(exist_ok=True)
    (root / "data" / "chunk-000").mkdir(parents=True)
    writer = _v30 if version == "v3.0" else _v21
    writer(root, features, episodes, tables, all_stats, task_names)
    return ids


def _info(features: dict[str, Any], version: str, episodes: int, frames: int, tasks: int) -> dict[str, Any]:
    has_video = any(f["dtype"] == "video" for f in features.values())
    if version == "v3.0":
        files = {"chunks_size": 1000, "data_files_size_in_mb": 100, "video_files_size_in_mb": 200}
        data = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
        video = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    else:
        files = {"total_videos": episodes if has_video else 0, "total_chunks": 1, "chunks_size": 1000}
        data = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
        video = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    return {
        "codebase_version": version, "robot_type": "testbot", "total_episodes": episodes, "total_frames": frames,
        "total_tasks": tasks, **files, "fps": FPS, "splits": {"train": f"0:{episodes}"}, "data_path": data,
        "video_path": video if has_video else None, "features": features,
    }  # fmt: skip


def _v30(
    root: Path,
    features: dict[str, Any],
    episodes: list[Any],
    tables: list[pa.Table],
    all_stats: list[dict[str, Any]],
    task_names: list[str],
) -> None:
    with pq.ParquetWriter(root / "data/chunk-000/file-000.parquet", tables[0].schema) as writer:
        for table in tables:
            writer.write_table(table)
    rows: dict[str, list[Any]] = {
        name: []
        for name in (
            "episode_index",
            "tasks",
            "length",
            "data/chunk_index",
            "data/file_index",
            "dataset_from_index",
            "dataset_to_index",
        )
    }
    first = 0
    for (number, ids, tasks), stats in zip(episodes, all_stats, strict=True):
        values = {
            "episode_index": number,
            "tasks": sorted(set(tasks), reverse=number % 2 == 1),
            "length": len(ids),
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": first,
            "dataset_to_index": first + len(ids),
        }
        if features[CAMERA]["dtype"] == "video":
            values |= {
                f"videos/{CAMERA}/chunk_index": 0,
                f"videos/{CAMERA}/file_index": 0,
                f"videos/{CAMERA}/from_timestamp": first / FPS,
                f"videos/{CAMERA}/to_timestamp": (first + len(ids)) / FPS,
            }
        for feature, block in stats.items():
            values |= {f"stats/{feature}/{name}": value for name, value in block.items()}
        values |= {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        for name, value in values.items():
            rows.setdefault(name, []).append(value)
        first += len(ids)
    columns = {}
    for name, values in rows.items():
        if name.startswith("stats/"):
            columns[name] = pa.array([v.tolist() for v in values], type=_nested(np.asarray(values[0])))
        else:
            columns[name] = pa.array(values)
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    pq.write_table(pa.table(columns), root / "meta/episodes/chunk-000/file-000.parquet")
    frame = pd.DataFrame({"task_index": range(len(task_names))}, index=pd.Index(task_names))
    frame.to_parquet(root / "meta/tasks.parquet")
    from roboflow.lerobot.stats import aggregate_stats, stats_to_json

    aggregated = aggregate_stats(all_stats)
    for feature in ("observation.contact", "observation.step", *_DEFAULTS):
        if feature == "timestamp" or feature not in aggregated:
            continue
        for name in ("min", "max"):
            aggregated[feature][name] = np.asarray(all_stats[0][feature][name]).dtype.type(
                aggregated[feature][name]
            )
    (root / "meta/stats.json").write_text(json.dumps(stats_to_json(aggregated), indent=4))
    (root / "meta/info.json").write_text(
        json.dumps(_info(features, "v3.0", len(episodes), first, len(task_names)), indent=4)
    )


def _v21(
    root: Path,
    features: dict[str, Any],
    episodes: list[Any],
    tables: list[pa.Table],
    all_stats: list[dict[str, Any]],
    task_names: list[str],
) -> None:
    lines, stats_lines, frames = [], [], 0
    for (number, ids, tasks), table, stats in zip(episodes, tables, all_stats, strict=True):
        pq.write_table(table, root / f"data/chunk-000/episode_{number:06d}.parquet")
        lines.append(
            {
                "episode_index": number,
                "tasks": sorted(set(tasks), reverse=number % 2 == 1),
                "length": len(ids),
            }
        )
        stats_lines.append(
            {
                "episode_index": number,
                "stats": {
                    feature: {name: np.asarray(value).tolist() for name, value in block.items()}
                    for feature, block in stats.items()
                },
            }
        )
        frames += len(ids)

    def jsonl(name: str, items: list[dict[str, Any]]) -> None:
        (root / "meta" / name).write_text("".join(json.dumps(item) + "\n" for item in items))

    jsonl("episodes.jsonl", lines)
    jsonl("episodes_stats.jsonl", stats_lines)
    jsonl("tasks.jsonl", [{"task_index": i, "task": task} for i, task in enumerate(task_names)])
    (root / "meta/info.json").write_text(
        json.dumps(_info(features, "v2.1", len(episodes), frames, len(task_names)), indent=4)
    )
