"""Invariants of a v3.0 dataset (many episodes per file, parquet metadata)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError
from roboflow.lerobot.metafiles import read_parquet
from roboflow.lerobot.taskfile import task_names
from roboflow.lerobot.validate_common import (
    TOLERANCE_S,
    Problem,
    check_rows,
    check_schema,
    check_stats,
    check_video_content,
    read_row_columns,
)

__all__ = ["episodes_columns", "validate_v30"]

TASKS_PATH = "meta/tasks.parquet"
STATS_PATH = "meta/stats.json"
EPISODES_DIR = "meta/episodes"


def episodes_columns(video_keys: list[str]) -> tuple[list[str], list[str]]:
    """The fixed columns of meta/episodes before and after the ``stats/*`` columns, in order."""
    head = [
        "episode_index",
        "tasks",
        "length",
        "data/chunk_index",
        "data/file_index",
        "dataset_from_index",
        "dataset_to_index",
    ]
    for key in video_keys:
        head += [
            f"videos/{key}/{name}" for name in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
        ]
    return head, ["meta/episodes/chunk_index", "meta/episodes/file_index"]


def validate_v30(root: Path, info: dict[str, Any], *, videos: bool) -> list[Problem]:
    """Check a v3.0 dataset whose info.json passed :func:`check_info`."""
    features = info["features"]
    problems: list[Problem] = []
    tasks = _read_tasks(root, info, problems)
    episodes = _read_episodes(root, info, problems)
    stats_file = root / STATS_PATH
    if not stats_file.is_file():
        problems.append(Problem(STATS_PATH, "missing (needed for training normalisation)"))
    else:
        try:
            stats = json.loads(stats_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            problems.append(Problem(STATS_PATH, f"unreadable: {err}"))
        else:
            problems += check_stats(STATS_PATH, "dataset", stats, features, quantiles=True)
    if episodes is None or tasks is None:
        return problems
    problems += _check_data(root, info, episodes, tasks)
    for key, feature in features.items():
        if feature["dtype"] == "video":
            problems += _check_videos(root, info, episodes, key, feature, videos=videos)
    return problems


def _read_tasks(root: Path, info: dict[str, Any], problems: list[Problem]) -> list[str] | None:
    path = root / TASKS_PATH
    if not path.is_file():
        problems.append(Problem(TASKS_PATH, "missing"))
        return None
    try:
        table = read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as err:
        problems.append(Problem(TASKS_PATH, f"unreadable: {err}"))
        return None
    task_index = table.column("task_index") if "task_index" in table.column_names else None
    if task_index is None or task_index.type != pa.int64() or task_index.null_count:
        problems.append(Problem(TASKS_PATH, "needs an int64 column 'task_index'"))
        return None
    names = task_names(table)
    if names is None:
        plain = " (found 'task' as a plain column)" if "task" in table.column_names else ""
        problems.append(Problem(TASKS_PATH, f"the task strings must be the pandas index{plain}"))
        return None
    if task_index.to_pylist() != list(range(len(names))):
        problems.append(Problem(TASKS_PATH, "task_index must run 0..N-1 in row order"))
    if len(set(names)) != len(names):
        problems.append(Problem(TASKS_PATH, "task strings must be unique"))
    if len(names) != info["total_tasks"]:
        problems.append(
            Problem(TASKS_PATH, f"has {len(names)} tasks, info.json total_tasks is {info['total_tasks']}")
        )
    return names


def _read_episodes(root: Path, info: dict[str, Any], problems: list[Problem]) -> list[dict[str, Any]] | None:
    files = sorted((root / EPISODES_DIR).glob("chunk-*/file-*.parquet"))
    if not files:
        problems.append(Problem(EPISODES_DIR, "no episodes metadata files"))
        return None
    video_keys = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    head, tail = episodes_columns(video_keys)
    rows: list[dict[str, Any]] = []
    for path in files:
        relpath = path.relative_to(root).as_posix()
        try:
            table = read_parquet(path)
        except (pa.ArrowException, OSError) as err:
            problems.append(Problem(relpath, f"unreadable: {err}"))
            return None
        names = table.column_names
        stats_names = [n for n in names if n.startswith("stats/")]
        if names != head + stats_names + tail:
            problems.append(Problem(relpath, f"columns must be {head} + stats/* + {tail}, found {names}"))
            return None
        problems += _check_episode_types(relpath, table.schema, stats_names)
        chunk, file = int(path.parent.name.split("-")[1]), int(path.stem.split("-")[1])
        for row in table.to_pylist():
            if (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) != (chunk, file):
                problems.append(
                    Problem(
                        relpath,
                        f"episode {row['episode_index']}: meta/episodes indices do not name this file",
                    )
                )
            rows.append(row)
    relpath = EPISODES_DIR
    if [row["episode_index"] for row in rows] != list(range(len(rows))):
        problems.append(Problem(relpath, "episode_index must run 0..E-1 in file order"))
        return None
    if len(rows) != info["total_episodes"]:
        problems.append(
            Problem(relpath, f"{len(rows)} episodes, info.json total_episodes is {info['total_episodes']}")
        )
    start = 0
    for row in rows:
        e = row["episode_index"]
        if row["length"] < 1:
            problems.append(Problem(relpath, f"episode {e}: length must be positive"))
        if (row["dataset_from_index"], row["dataset_to_index"]) != (start, start + row["length"]):
            problems.append(
                Problem(
                    relpath,
                    f"episode {e}: dataset_from/to_index are {row['dataset_from_index']}/"
                    f"{row['dataset_to_index']}, expected {start}/{start + row['length']}",
                )
            )
        start += row["length"]
        stats = _unflatten_stats(row)
        problems += check_stats(relpath, f"episode {e}", stats, info["features"], quantiles=True)
    if start != info["total_frames"]:
        problems.append(
            Problem(
                relpath, f"episode lengths sum to {start}, info.json total_frames is {info['total_frames']}"
            )
        )
    return rows


def _check_episode_types(relpath: str, schema: pa.Schema, stats_names: list[str]) -> list[Problem]:
    problems = []
    for field in schema:
        name, kind = field.name, field.type
        if name == "tasks":
            ok = pa.types.is_list(kind) and pa.types.is_string(kind.value_type)
        elif name.endswith("_timestamp"):
            ok = pa.types.is_float64(kind)
        elif name.startswith("stats/"):
            ok = pa.types.is_list(kind) and _stats_leaf_ok(kind, count=name.endswith("/count"))
        else:
            ok = pa.types.is_int64(kind)
        if not ok:
            problems.append(Problem(relpath, f"column {name!r} has type {kind}"))
    return problems


def _stats_leaf_ok(kind: pa.DataType, *, count: bool) -> bool:
    """Whether a ``stats/*`` column holds numbers lerobot can aggregate.

    ``count`` is an integer. Every other stat is a number of any kind: lerobot 0.4 writes ``min``/``max`` in
    the feature's own dtype (int64 for integer features, bool for bool features) and ``mean``/``std`` and the
    quantiles as double; it reads them all back as numpy arrays.
    """
    while pa.types.is_list(kind):
        kind = kind.value_type
    if count:
        return bool(pa.types.is_integer(kind))
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind))


def _unflatten_stats(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    stats: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, value in row.items():
        if name.startswith("stats/"):
            feature, key = name[len("stats/") :].rsplit("/", 1)
            stats[feature][key] = value
    return dict(stats)


def _check_data(
    root: Path, info: dict[str, Any], episodes: list[dict[str, Any]], tasks: list[str]
) -> list[Problem]:
    problems: list[Problem] = []
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in episodes:
        chunk, file = row["data/chunk_index"], row["data/file_index"]
        if not 0 <= file < info["chunks_size"]:
            problems.append(
                Problem(
                    EPISODES_DIR,
                    f"episode {row['episode_index']}: data/file_index {file} is not "
                    f"below chunks_size {info['chunks_size']}",
                )
            )
        by_file[info["data_path"].format(chunk_index=chunk, file_index=file)].append(row)
    on_disk = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*.parquet")}
    problems += [
        Problem(extra, "data file not referenced by any episode (lerobot would load its rows)")
        for extra in sorted(on_disk - by_file.keys())
    ]
    offset, complete = 0, True
    for relpath in sorted(by_file):
        rows_meta = by_file[relpath]
        if relpath not in on_disk:
            problems.append(Problem(relpath, f"missing (episodes {_episode_list(rows_meta)})"))
            offset, complete = rows_meta[-1]["dataset_to_index"], False
            continue
        path = root / relpath
        try:
            problems += check_schema(relpath, pq.read_schema(path), info["features"])
            columns = read_row_columns(path)
        except (DatasetError, pa.ArrowException, OSError) as err:
            problems.append(Problem(relpath, f"unreadable: {getattr(err, 'message', err)}"))
            offset, complete = rows_meta[-1]["dataset_to_index"], False
            continue
        count = len(columns["index"])
        first, last = rows_meta[0]["dataset_from_index"], rows_meta[-1]["dataset_to_index"]
        if (first, last) != (offset, offset + count):
            problems.append(
                Problem(
                    relpath,
                    f"holds rows {offset}..{offset + count - 1} of the dataset but its "
                    f"episodes span {first}..{last - 1}",
                )
            )
        for meta in rows_meta:
            lo, hi = meta["dataset_from_index"] - offset, meta["dataset_to_index"] - offset
            if lo < 0 or hi > count:
                continue
            part = {name: array[lo:hi] for name, array in columns.items()}
            problems += check_rows(
                relpath,
                part,
                episode=meta["episode_index"],
                first_index=meta["dataset_from_index"],
                fps=info["fps"],
                task_names=tasks,
                episode_tasks=meta["tasks"],
            )
        offset += count
    if complete and offset != info["total_frames"]:
        problems.append(Problem("data", f"{offset} rows, info.json total_frames is {info['total_frames']}"))
    return problems


def _episode_list(rows: list[dict[str, Any]]) -> str:
    return ", ".join(str(row["episode_index"]) for row in rows)


def _check_videos(
    root: Path,
    info: dict[str, Any],
    episodes: list[dict[str, Any]],
    key: str,
    feature: dict[str, Any],
    *,
    videos: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    prefix, fps = f"videos/{key}/", info["fps"]
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in episodes:
        e, start, stop = row["episode_index"], row[prefix + "from_timestamp"], row[prefix + "to_timestamp"]
        if start < 0 or abs((stop - start) - row["length"] / fps) > TOLERANCE_S:
            problems.append(
                Problem(
                    EPISODES_DIR,
                    f"episode {e}: {prefix}from/to_timestamp {start}/{stop} do not "
                    f"span length/fps = {row['length'] / fps}",
                )
            )
        chunk, file = row[prefix + "chunk_index"], row[prefix + "file_index"]
        by_file[info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)].append(row)
    for relpath in sorted(by_file):
        rows_meta = by_file[relpath]
        if not (root / relpath).is_file():
            problems.append(Problem(relpath, f"missing (episodes {_episode_list(rows_meta)})"))
            continue
        if videos:
            problems += check_video_content(
                root / relpath,
                relpath,
                feature,
                [(row["episode_index"], row[prefix + "from_timestamp"], row["length"]) for row in rows_meta],
                fps=fps,
                mismatch=f" but its episodes cover {sum(row['length'] for row in rows_meta)}",
            )
    return problems
