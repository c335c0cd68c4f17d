"""Load a dataset in the real ``lerobot`` library and check every item it gives, as training would.

Run it with the python of a separate venv that has lerobot installed (never the project's interpreter)::

    /opt/lerobot04/bin/python tests/compat/lerobot_load.py OUT_DIR [OUT_DIR...]      # v3.0, lerobot 0.4.x
    /opt/lerobot03/bin/python tests/compat/lerobot_load.py OUT_DIR --frames ends     # v2.1, lerobot 0.3.x

Several datasets in one run share the (slow) import of torch and lerobot.

It needs nothing from roboflow. Stages, each reported by name when it fails:

- ``info``: ``meta/info.json`` parses and names a codebase version.
- ``metadata`` / ``dataset``: ``LeRobotDatasetMetadata`` and ``LeRobotDataset(repo_id, root=DIR,
  video_backend=...)`` load offline (HF_HUB_OFFLINE=1, so a missing file fails instead of reaching for the hub).
- ``episodes``: the episode boundaries lerobot computed are contiguous, start at 0, end at ``total_frames``
  and match each episode's ``length``.
- ``items``: every item (``--frames all``) or the first, middle and last of every episode (``ends``) has
  ``index``/``episode_index``/``frame_index``/``timestamp`` consistent with the boundaries and fps, ``task``
  as the task string, every float feature as a float32 tensor of its info.json shape, every camera as a
  float32 ``C,H,W`` frame in [0, 1].
- ``delta``: with ``delta_timestamps`` of -1/0/+1 frame on a vector and every camera, the first and last
  frame of every episode are padded exactly at the episode boundary (what policies like ACT rely on).
- ``stats``: ``meta.stats`` as lerobot loads (0.4) or aggregates (0.3) it, the normalisers' input, has
  finite ``min max mean std`` for every feature, shaped ``(N,)`` for vectors and ``(3, 1, 1)`` for cameras;
  under lerobot 0.4 missing ``q01 q10 q50 q90 q99`` (needed by its QUANTILES normalisation modes) are
  listed in ``warnings``.
- ``dataloader``: a torch ``DataLoader`` batches items (tasks collate to a list of strings).

With ``--dump DIR`` the checked items of the n-th dataset are also saved to ``DIR/<n>.npz`` (each camera as
H,W,C uint8, each vector as float32, under ``"<row>|<key>"``) so a caller can compare decoded content with
what it wrote.

Prints one line of JSON per dataset, in argument order (``ok``, versions, episodes, tasks, samples...).
Exit status 0: every check of every dataset passed; 1: a check failed (that dataset's line has
``ok: false``, ``stage`` and ``error``); 2: bad arguments.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

INDEX_KEYS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


class CheckError(Exception):
    """A check failed; ``stage`` names the step that failed."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def error_chain(err: BaseException) -> str:
    """The message of an exception and of every exception that caused it (the root cause is often deepest)."""
    parts = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- caused by ".join(parts)


def require(condition: bool, stage: str, message: str) -> None:
    if not condition:
        raise CheckError(stage, message)


def episode_bounds(ds: Any, meta: Any) -> list[dict[str, Any]]:
    """Per episode: index, first and one-past-last row, length and tasks, as lerobot itself sees them."""
    episodes = []
    for ep in range(meta.total_episodes):
        if hasattr(ds, "episode_data_index"):  # lerobot 0.3.x (v2.1): jsonl metadata + computed index
            record = meta.episodes[ep]
            start = int(ds.episode_data_index["from"][ep])
            stop = int(ds.episode_data_index["to"][ep])
        else:  # lerobot 0.4.x (v3.0): meta/episodes parquet
            record = meta.episodes[ep]
            start = int(record["dataset_from_index"])
            stop = int(record["dataset_to_index"])
        episodes.append(
            {
                "episode_index": int(record["episode_index"]),
                "from": start,
                "to": stop,
                "length": int(record["length"]),
                "tasks": list(record["tasks"]),
            }
        )
    return episodes


def task_table(meta: Any) -> dict[int, str]:
    """task_index -> task string from the loaded metadata (a dict in 0.3.x, a DataFrame in 0.4.x)."""
    if isinstance(meta.tasks, dict):
        return {int(index): str(task) for index, task in meta.tasks.items()}
    return {int(row.task_index): str(task) for task, row in meta.tasks.iterrows()}


def check_episodes(episodes: list[dict[str, Any]], total_frames: int, length: int) -> None:
    stage = "episodes"
    require(bool(episodes), stage, "the dataset has no episodes")
    expected_start = 0
    for position, ep in enumerate(episodes):
        where = f"episode {position}"
        require(ep["episode_index"] == position, stage, f"{where}: episode_index is {ep['episode_index']}")
        require(
            ep["from"] == expected_start,
            stage,
            f"{where}: starts at row {ep['from']}, expected {expected_start}",
        )
        require(
            ep["to"] - ep["from"] == ep["length"],
            stage,
            f"{where}: rows {ep['from']}..{ep['to']} but length {ep['length']}",
        )
        require(bool(ep["tasks"]), stage, f"{where}: no tasks listed")
        expected_start = ep["to"]
    require(
        expected_start == total_frames,
        stage,
        f"episodes end at row {expected_start}, total_frames {total_frames}",
    )
    require(length == total_frames, stage, f"len(dataset) {length} != total_frames {total_frames}")


def sample_indices(episodes: list[dict[str, Any]], frames: str) -> list[int]:
    if frames == "all":
        return list(range(episodes[-1]["to"]))
    picked: list[int] = []
    for ep in episodes:
        for row in (ep["from"], (ep["from"] + ep["to"] - 1) // 2, ep["to"] - 1):
            if row not in picked:
                picked.append(row)
    return picked


def check_item(
    item: dict[str, Any],
    row: int,
    ep: dict[str, Any],
    tasks: dict[int, str],
    features: dict[str, dict[str, Any]],
    fps: int,
    arrays: dict[str, Any],
) -> dict[str, Any]:
    """Check one item; return its summary and add its values to ``arrays`` (cameras as H,W,C uint8)."""
    import torch

    stage = "items"
    where = f"item {row}"
    missing = [key for key in (*features, "task") if key not in item]
    require(not missing, stage, f"{where}: keys missing from the item: {missing}")
    require(int(item["index"]) == row, stage, f"{where}: index is {int(item['index'])}")
    require(
        int(item["episode_index"]) == ep["episode_index"],
        stage,
        f"{where}: episode_index {int(item['episode_index'])}, rows say {ep['episode_index']}",
    )
    frame_index = int(item["frame_index"])
    require(
        frame_index == row - ep["from"],
        stage,
        f"{where}: frame_index {frame_index}, expected {row - ep['from']}",
    )
    timestamp = float(item["timestamp"])
    require(
        abs(timestamp - frame_index / fps) < 1e-4,
        stage,
        f"{where}: timestamp {timestamp} != {frame_index}/{fps}",
    )
    task_index = int(item["task_index"])
    require(isinstance(item["task"], str), stage, f"{where}: task is {type(item['task']).__name__}, not str")
    require(
        item["task"] == tasks.get(task_index),
        stage,
        f"{where}: task {item['task']!r} but task_index {task_index} is {tasks.get(task_index)!r}",
    )
    require(
        item["task"] in ep["tasks"],
        stage,
        f"{where}: task {item['task']!r} not among episode tasks {ep['tasks']}",
    )
    camera_means = {}
    for key, feature in features.items():
        if key in INDEX_KEYS:
            continue
        value = item[key]
        require(
            isinstance(value, torch.Tensor), stage, f"{where}: {key} is {type(value).__name__}, not a tensor"
        )
        shape = tuple(feature["shape"])
        if feature["dtype"] in ("video", "image"):
            height, width, channels = shape
            require(
                tuple(value.shape) == (channels, height, width),
                stage,
                f"{where}: {key} has shape {tuple(value.shape)}, info.json says {shape} (expected C,H,W = {(channels, height, width)})",
            )
            require(value.dtype == torch.float32, stage, f"{where}: {key} dtype {value.dtype}")
            low, high = float(value.min()), float(value.max())
            require(0.0 <= low and high <= 1.0, stage, f"{where}: {key} values {low}..{high} outside [0, 1]")
            camera_means[key] = round(float(value.mean()) * 255, 2)
            arrays[f"{row}|{key}"] = (value.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        elif feature["dtype"] == "float32":
            require(
                tuple(value.shape) == shape,
                stage,
                f"{where}: {key} has shape {tuple(value.shape)}, info.json says {shape}",
            )
            require(
                value.dtype == torch.float32,
                stage,
                f"{where}: {key} dtype {value.dtype}, info.json says float32",
            )
            require(bool(torch.isfinite(value).all()), stage, f"{where}: {key} holds NaN or infinity")
            arrays[f"{row}|{key}"] = value.numpy()
    return {
        "index": row,
        "episode_index": ep["episode_index"],
        "frame_index": frame_index,
        "task": item["task"],
        "camera_means": camera_means,
    }


def check_delta(
    dataset_cls: Any,
    root: Path,
    backend: str,
    episodes: list[dict[str, Any]],
    features: dict[str, dict[str, Any]],
    fps: int,
) -> int:
    """Load again with delta_timestamps and check the padding at every episode's first and last frame."""
    stage = "delta"
    vectors = [key for key, f in features.items() if f["dtype"] == "float32" and key not in INDEX_KEYS]
    cameras = [key for key, f in features.items() if f["dtype"] in ("video", "image")]
    keys = vectors[:1] + cameras
    if not keys:
        return 0
    deltas = [-1 / fps, 0.0, 1 / fps]
    try:
        ds = dataset_cls(
            repo_id="local/compat",
            root=root,
            video_backend=backend,
            delta_timestamps=dict.fromkeys(keys, deltas),
        )
    except Exception as err:
        raise CheckError(stage, f"loading with delta_timestamps failed: {error_chain(err)}") from err
    checked = 0
    for ep in episodes:
        for row, pad in ((ep["from"], [True, False, False]), (ep["to"] - 1, [False, False, True])):
            if ep["length"] == 1:
                pad = [True, False, True]
            try:
                item = ds[row]
            except Exception as err:
                raise CheckError(
                    stage, f"item {row} (episode {ep['episode_index']}): {error_chain(err)}"
                ) from err
            for key in keys:
                got = [bool(flag) for flag in item[f"{key}_is_pad"]]
                require(
                    got == pad,
                    stage,
                    f"item {row}: {key}_is_pad is {got}, expected {pad} at the episode boundary",
                )
                shape = tuple(item[key].shape)
                require(shape[0] == 3, stage, f"item {row}: {key} with 3 deltas has shape {shape}")
            checked += 1
    return checked


def check_stats(stats: Any, features: dict[str, dict[str, Any]], lerobot_version: str) -> list[str]:
    """Check the stats lerobot's normalisers read.

    Returns:
        Warnings: quantiles missing under lerobot 0.4 (only its QUANTILES normalisation modes need them;
        lerobot's own v2.1 -> v3.0 converter leaves them out too).
    """
    import numpy as np

    stage = "stats"
    quantiles = [] if lerobot_version.startswith("0.3.") else ["q01", "q10", "q50", "q90", "q99"]
    warnings = []
    require(isinstance(stats, dict), stage, f"meta.stats is {type(stats).__name__}, not a dict")
    for key, feature in features.items():
        if key in INDEX_KEYS:
            continue
        require(key in stats, stage, f"no stats for {key!r}")
        camera = feature["dtype"] in ("video", "image")
        shape = (3, 1, 1) if camera else tuple(feature["shape"])
        missing = [name for name in quantiles if name not in stats[key]]
        if missing:
            warnings.append(f"{key}: no quantile stats {missing}")
        for name in ["min", "max", "mean", "std"] + [q for q in quantiles if q not in missing]:
            require(name in stats[key], stage, f"{key}: no {name!r} stat (has {sorted(stats[key])})")
            value = np.asarray(stats[key][name])
            require(value.shape == shape, stage, f"{key}.{name} has shape {value.shape}, expected {shape}")
            require(bool(np.isfinite(value).all()), stage, f"{key}.{name} is not finite: {value.tolist()}")
        low, high, mean = (np.asarray(stats[key][n]) for n in ("min", "max", "mean"))
        require(bool((low <= mean).all() and (mean <= high).all()), stage, f"{key}: mean outside min..max")
        if camera:
            require(bool((low >= 0).all() and (high <= 1).all()), stage, f"{key}: image stats outside [0, 1]")
    return warnings


def check_dataloader(ds: Any, features: dict[str, dict[str, Any]]) -> int:
    import torch

    stage = "dataloader"
    batch_size = min(4, len(ds))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0)
    try:
        batch = next(iter(loader))
    except Exception as err:
        raise CheckError(stage, f"first batch failed: {error_chain(err)}") from err
    tasks = batch["task"]
    require(
        isinstance(tasks, list) and all(isinstance(t, str) for t in tasks) and len(tasks) == batch_size,
        stage,
        f"batch['task'] is {tasks!r}",
    )
    for key, feature in features.items():
        if feature["dtype"] in ("video", "image"):
            height, width, channels = feature["shape"]
            shape = tuple(batch[key].shape)
            require(
                shape == (batch_size, channels, height, width), stage, f"batch[{key!r}] has shape {shape}"
            )
    return batch_size


def run(root: Path, frames: str, backend: str, delta: bool, dump: Path | None) -> dict[str, Any]:
    try:
        info = json.loads((root / "meta" / "info.json").read_text())
        version = info["codebase_version"]
        fps = int(info["fps"])
    except (OSError, ValueError, KeyError) as err:
        raise CheckError("info", f"{root / 'meta' / 'info.json'}: {error_chain(err)}") from err

    import torch
    from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset, LeRobotDatasetMetadata

    summary: dict[str, Any] = {
        "ok": False,
        "dataset": str(root),
        "codebase_version": version,
        "lerobot": importlib.metadata.version("lerobot"),
        "lerobot_codebase_version": CODEBASE_VERSION,
        "torch": torch.__version__,
        "video_backend": backend,
    }
    try:
        meta = LeRobotDatasetMetadata(repo_id="local/compat", root=root)
    except Exception as err:
        raise CheckError("metadata", error_chain(err)) from err
    try:
        ds = LeRobotDataset(repo_id="local/compat", root=root, video_backend=backend)
    except Exception as err:
        raise CheckError("dataset", error_chain(err)) from err
    features = {key: dict(value) for key, value in ds.meta.features.items()}
    summary["fps"] = fps
    summary["total_episodes"] = ds.meta.total_episodes
    summary["total_frames"] = ds.meta.total_frames
    summary["features"] = {
        key: {"dtype": f["dtype"], "shape": list(f["shape"])} for key, f in features.items()
    }
    require(ds.fps == fps, "dataset", f"lerobot fps {ds.fps} != info.json fps {fps}")

    try:
        episodes = episode_bounds(ds, ds.meta)
        tasks = task_table(ds.meta)
    except Exception as err:
        raise CheckError("episodes", error_chain(err)) from err
    summary["episodes"] = episodes
    summary["tasks"] = {str(index): task for index, task in sorted(tasks.items())}
    check_episodes(episodes, ds.meta.total_frames, len(ds))
    require(
        len(tasks) == meta.total_tasks,
        "episodes",
        f"{len(tasks)} tasks loaded, total_tasks {meta.total_tasks}",
    )

    samples = []
    arrays: dict[str, Any] = {}
    by_row = {row: ep for ep in episodes for row in range(ep["from"], ep["to"])}
    for row in sample_indices(episodes, frames):
        try:
            item = ds[row]
        except Exception as err:
            raise CheckError(
                "items", f"item {row} (episode {by_row[row]['episode_index']}): {error_chain(err)}"
            ) from err
        samples.append(check_item(item, row, by_row[row], tasks, features, fps, arrays))
    if dump is not None:
        import numpy as np

        np.savez(dump, **arrays)
        summary["dump"] = str(dump)
    summary["items_checked"] = len(samples)
    summary["samples"] = samples
    summary["delta_items_checked"] = (
        check_delta(LeRobotDataset, root, backend, episodes, features, fps) if delta else 0
    )
    summary["warnings"] = check_stats(ds.meta.stats, features, summary["lerobot"])
    summary["dataloader_batch"] = check_dataloader(ds, features)
    summary["ok"] = True
    return summary


def check_one(root: Path, frames: str, backend: str, delta: bool, dump: Path | None) -> dict[str, Any]:
    """The summary of one dataset; a failure becomes ``ok: false`` with its stage and error."""
    try:
        return run(root.resolve(), frames, backend, delta, dump)
    except CheckError as err:
        return {"ok": False, "dataset": str(root), "stage": err.stage, "error": str(err)}
    except Exception as err:  # noqa: BLE001 -- lerobot may raise anything: report it whole
        return {
            "ok": False,
            "dataset": str(root),
            "stage": "unexpected",
            "error": error_chain(err),
            "traceback": traceback.format_exc(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("roots", type=Path, nargs="+", help="dataset directories (each holds meta/info.json)")
    parser.add_argument(
        "--frames",
        choices=("all", "ends"),
        default="all",
        help="every item, or first/middle/last of each episode",
    )
    parser.add_argument("--video-backend", default="pyav", help="lerobot video_backend (pyav or torchcodec)")
    parser.add_argument(
        "--dump", type=Path, help="directory for <position>.npz: the checked items' cameras and vectors"
    )
    parser.add_argument("--no-delta", action="store_true", help="skip the delta_timestamps check")
    args = parser.parse_args(argv)
    # Never reach for the hub: a missing file must fail here, not turn into a download.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lerobot-compat-") as home:
        os.environ.setdefault("HF_HOME", home)  # keep the datasets cache out of ~/.cache
        for position, root in enumerate(args.roots):
            dump = None if args.dump is None else args.dump / f"{position}.npz"
            summary = check_one(root, args.frames, args.video_backend, not args.no_delta, dump)
            failed += not summary["ok"]
            print(json.dumps(summary), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
