"""Invariants of a v2.1 dataset (one parquet and one mp4 per episode, jsonl metadata)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError
from roboflow.lerobot.validate_common import (
    Problem,
    check_rows,
    check_schema,
    check_stats,
    check_video_content,
    read_row_columns,
)

__all__ = ["validate_v21"]

EPISODES_PATH = "meta/episodes.jsonl"
TASKS_PATH = "meta/tasks.jsonl"
STATS_PATH = "meta/episodes_stats.jsonl"


def validate_v21(root: Path, info: dict[str, Any], *, videos: bool) -> list[Problem]:
    """Check a v2.1 dataset whose info.json passed :func:`check_info`."""
    problems: list[Problem] = []
    episodes = _read_jsonl(root, EPISODES_PATH, problems)
    task_rows = _read_jsonl(root, TASKS_PATH, problems)
    stats_rows = _read_jsonl(root, STATS_PATH, problems)
    if episodes is None or task_rows is None or stats_rows is None:
        return problems
    tasks = _check_tasks(task_rows, info, problems)
    problems += _check_episodes(episodes, info)
    if [row.get("episode_index") for row in stats_rows] != list(range(len(episodes))):
        problems.append(Problem(STATS_PATH, "needs one line per episode, episode_index 0..E-1 in order"))
    for row in stats_rows:
        problems += check_stats(
            STATS_PATH,
            f"episode {row.get('episode_index')}",
            row.get("stats"),
            info["features"],
            quantiles=False,
        )
    if problems:
        return problems
    problems += _check_data(root, info, episodes, tasks)
    for key, feature in info["features"].items():
        if feature["dtype"] == "video":
            problems += _check_videos(root, info, episodes, key, feature, videos=videos)
    return problems


def _read_jsonl(root: Path, relpath: str, problems: list[Problem]) -> list[dict[str, Any]] | None:
    path = root / relpath
    if not path.is_file():
        problems.append(Problem(relpath, "missing"))
        return None
    rows = []
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            if not isinstance(row, dict):
                problems.append(Problem(relpath, f"line {number} is not a JSON object"))
                return None
            rows.append(row)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        problems.append(Problem(relpath, f"unreadable: {err}"))
        return None
    return rows


def _check_tasks(rows: list[dict[str, Any]], info: dict[str, Any], problems: list[Problem]) -> list[str]:
    if [row.get("task_index") for row in rows] != list(range(len(rows))):
        problems.append(Problem(TASKS_PATH, "task_index must run 0..N-1 in line order"))
    names = [row.get("task") for row in rows]
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        problems.append(Problem(TASKS_PATH, "every line needs a unique task string"))
    if len(rows) != info["total_tasks"]:
        problems.append(
            Problem(TASKS_PATH, f"has {len(rows)} tasks, info.json total_tasks is {info['total_tasks']}")
        )
    return [str(name) for name in names]


def _check_episodes(rows: list[dict[str, Any]], info: dict[str, Any]) -> list[Problem]:
    problems = []
    if [row.get("episode_index") for row in rows] != list(range(len(rows))):
        return [Problem(EPISODES_PATH, "episode_index must run 0..E-1 in line order")]
    if len(rows) != info["total_episodes"]:
        problems.append(
            Problem(
                EPISODES_PATH, f"{len(rows)} episodes, info.json total_episodes is {info['total_episodes']}"
            )
        )
    for row in rows:
        length, tasks = row.get("length"), row.get("tasks")
        if not isinstance(length, int) or length < 1:
            problems.append(
                Problem(EPISODES_PATH, f"episode {row['episode_index']}: length must be a positive integer")
            )
        if not isinstance(tasks, list) or not all(isinstance(task, str) for task in tasks):
            problems.append(
                Problem(EPISODES_PATH, f"episode {row['episode_index']}: tasks must be a list of strings")
            )
    if not problems and sum(row["length"] for row in rows) != info["total_frames"]:
        problems.append(
            Problem(
                EPISODES_PATH,
                f"lengths sum to {sum(row['length'] for row in rows)}, info.json "
                f"total_frames is {info['total_frames']}",
            )
        )
    return problems


def _check_data(
    root: Path, info: dict[str, Any], episodes: list[dict[str, Any]], tasks: list[str]
) -> list[Problem]:
    problems: list[Problem] = []
    expected = [_episode_path(info["data_path"], info, row["episode_index"]) for row in episodes]
    on_disk = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*.parquet")}
    problems += [
        Problem(extra, "data file of no episode (lerobot would load its rows)")
        for extra in sorted(on_disk - set(expected))
    ]
    offset = 0
    for row, relpath in zip(episodes, expected, strict=True):
        if relpath not in on_disk:
            problems.append(Problem(relpath, f"missing (episode {row['episode_index']})"))
            offset += row["length"]
            continue
        try:
            problems += check_schema(relpath, pq.read_schema(root / relpath), info["features"])
            columns = read_row_columns(root / relpath)
        except (DatasetError, pa.ArrowException, OSError) as err:
            problems.append(Problem(relpath, f"unreadable: {getattr(err, 'message', err)}"))
            offset += row["length"]
            continue
        count = len(columns["index"])
        if count != row["length"]:
            problems.append(
                Problem(relpath, f"has {count} rows, {EPISODES_PATH} says length {row['length']}")
            )
        problems += check_rows(
            relpath,
            columns,
            episode=row["episode_index"],
            first_index=offset,
            fps=info["fps"],
            task_names=tasks,
            episode_tasks=row["tasks"],
        )
        offset += row["length"]
    return problems


def _episode_path(template: str, info: dict[str, Any], episode: int, key: str = "") -> str:
    return template.format(episode_chunk=episode // info["chunks_size"], episode_index=episode, video_key=key)


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
    for row in episodes:
        e = row["episode_index"]
        relpath = _episode_path(info["video_path"], info, e, key)
        if not (root / relpath).is_file():
            problems.append(Problem(relpath, f"missing (episode {e})"))
            continue
        if videos:
            problems += check_video_content(
                root / relpath,
                relpath,
                feature,
                [(e, 0.0, row["length"])],
                fps=info["fps"],
                mismatch=f", episode {e} has {row['length']} rows",
            )
    return problems
