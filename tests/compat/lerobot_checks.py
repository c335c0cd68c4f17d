"""The checks of ``lerobot_load.py``: each takes what lerobot loaded and raises :class:`CheckError` naming its
stage. Imported by that script inside the lerobot venv; nothing here imports roboflow.
"""

from __future__ import annotations

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
        if feature["dtype"] == "string":
            require(isinstance(value, str), stage, f"{where}: {key} is {type(value).__name__}, not a string")
            arrays[f"{row}|{key}"] = value
            continue
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
            # lerobot stores a shape-[1] feature as a scalar column and yields a 0-d tensor (as `timestamp`)
            expected = () if shape == (1,) else shape
            require(
                tuple(value.shape) == expected,
                stage,
                f"{where}: {key} has shape {tuple(value.shape)}, lerobot yields {expected} for info.json shape "
                f"{list(shape)}",
            )
            require(
                value.dtype == torch.float32,
                stage,
                f"{where}: {key} dtype {value.dtype}, info.json says float32",
            )
            require(bool(torch.isfinite(value).all()), stage, f"{where}: {key} holds NaN or infinity")
            arrays[f"{row}|{key}"] = value.numpy()
        else:  # integer and bool features come back in their own dtype
            expected = () if shape == (1,) else shape
            require(
                tuple(value.shape) == expected and str(value.dtype) == f"torch.{feature['dtype']}",
                stage,
                f"{where}: {key} is {value.dtype} of shape {tuple(value.shape)}, info.json says "
                f"{feature['dtype']} {list(shape)}",
            )
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
        if key in INDEX_KEYS or feature["dtype"] == "string":  # lerobot keeps no stats of strings
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


def streaming_obstacle(meta: Any) -> str | None:
    """Why lerobot 0.4.4's StreamingLeRobotDataset cannot read this dataset correctly, or None.

    It seeks each video at ``index / fps`` (a dataset-global time) instead of the episode's
    ``from_timestamp`` + ``timestamp``, which is right only while every episode of a camera lies in one file.
    """
    if not hasattr(meta.episodes, "column_names"):
        return f"{meta.info['codebase_version']} dataset: StreamingLeRobotDataset needs lerobot 0.4 and v3.0"
    for key in meta.video_keys:
        files = set(
            zip(meta.episodes[f"videos/{key}/chunk_index"], meta.episodes[f"videos/{key}/file_index"])
        )
        if len(files) > 1:
            return f"{key} spans {len(files)} video files (huggingface/lerobot#3080, #4524)"
    return None


def check_streaming(
    root: Path,
    by_row: dict[int, dict[str, Any]],
    tasks: dict[int, str],
    features: dict[str, dict[str, Any]],
    arrays: dict[str, Any],
) -> int:
    """Iterate ``StreamingLeRobotDataset`` (lerobot 0.4; decodes with torchcodec): every row once, right
    episode, frame and task; camera frames go to ``arrays`` under ``"stream:<row>|<key>"``."""
    import torch

    stage = "streaming"
    try:
        from lerobot.datasets.streaming_dataset import StreamingLeRobotDataset

        items = list(StreamingLeRobotDataset("local/compat", root=root, shuffle=False))
    except Exception as err:
        raise CheckError(stage, error_chain(err)) from err
    rows = sorted(int(item["index"]) for item in items)
    require(
        rows == sorted(by_row), stage, f"streamed rows {rows} are not each row once (0..{len(by_row) - 1})"
    )
    for item in items:
        row = int(item["index"])
        ep = by_row[row]
        require(
            int(item["episode_index"]) == ep["episode_index"],
            stage,
            f"row {row}: episode {item['episode_index']}",
        )
        require(
            int(item["frame_index"]) == row - ep["from"],
            stage,
            f"row {row}: frame_index {item['frame_index']}",
        )
        task = tasks.get(int(item["task_index"]))
        require(item["task"] == task, stage, f"row {row}: task {item['task']!r}, task_index says {task!r}")
        for key, feature in features.items():
            if feature["dtype"] == "video":
                height, width, channels = feature["shape"]
                shape = tuple(item[key].shape)
                require(shape == (channels, height, width), stage, f"row {row}: {key} has shape {shape}")
                arrays[f"stream:{row}|{key}"] = (
                    (item[key].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
                )
    return len(items)


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
