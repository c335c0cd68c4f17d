"""Read an existing dataset (v3.0 or v2.1) as a sequence of :class:`EpisodePart` for an assembler.

Only metadata is read here; rows and video frames stay in their files until the assembler copies them.
The dataset is assumed valid (merge validates its shards first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from roboflow.errors import DatasetError
from roboflow.lerobot import layout
from roboflow.lerobot.assemble import DatasetHeader, EpisodePart, RowSlice, VideoSlice
from roboflow.lerobot.metafiles import read_parquet
from roboflow.lerobot.stats import stats_from_json, unflatten_stats
from roboflow.lerobot.taskfile import task_names

__all__ = ["ExistingDataset", "open_dataset"]


@dataclass(frozen=True, slots=True)
class ExistingDataset:
    """A dataset on local disk.

    Attributes:
        root: Its directory.
        info: Its ``meta/info.json``.
        header: fps, robot type and features.
        tasks: Task strings by task_index.
    """

    root: Path
    info: dict[str, Any]
    header: DatasetHeader
    tasks: tuple[str, ...]

    @property
    def version(self) -> str:
        """``v3.0`` or ``v2.1``."""
        return str(self.info["codebase_version"])

    def parts(self, origin: str = "") -> Iterator[EpisodePart]:
        """Its episodes in order; ``origin`` names the dataset in error messages."""
        rows = _v30_episodes(self.root) if self.version == layout.CODEBASE_V30 else _v21_episodes(self.root)
        data_offsets: dict[str, int] = {}
        fps = self.header.fps
        for row in rows:
            length = int(row["length"])
            if self.version == layout.CODEBASE_V30:
                data = self.info["data_path"].format(
                    chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
                )
                first = data_offsets.setdefault(data, int(row["dataset_from_index"]))
                rows_slice = RowSlice(self.root / data, int(row["dataset_from_index"]) - first, length)
                videos = {
                    key: VideoSlice(
                        self.root
                        / self.info["video_path"].format(
                            video_key=key,
                            chunk_index=row[f"videos/{key}/chunk_index"],
                            file_index=row[f"videos/{key}/file_index"],
                        ),
                        round(row[f"videos/{key}/from_timestamp"] * fps),
                        length,
                    )
                    for key in self.header.video_keys
                }
            else:
                episode = int(row["episode_index"])
                rows_slice = RowSlice(self.root / self._v21_path(self.info["data_path"], episode), 0, length)
                videos = {
                    key: VideoSlice(
                        self.root / self._v21_path(self.info["video_path"], episode, key), 0, length
                    )
                    for key in self.header.video_keys
                }
            where = f"{origin or self.root} episode {row['episode_index']}"
            yield EpisodePart(length, self.tasks, rows_slice, videos, row["stats"], origin=where)

    def _v21_path(self, template: str, episode: int, key: str = "") -> str:
        chunk = episode // int(self.info["chunks_size"])
        return template.format(episode_chunk=chunk, episode_index=episode, video_key=key)


def open_dataset(root: Path) -> ExistingDataset:
    """Read the metadata of the dataset at ``root``.

    Raises:
        DatasetError: Its metadata cannot be read.
    """
    try:
        info = json.loads((root / layout.INFO_PATH).read_text(encoding="utf-8"))
        if info.get("codebase_version") == layout.CODEBASE_V30:
            tasks = _v30_tasks(root)
        else:
            tasks = tuple(row["task"] for row in _jsonl(root / layout.V21_TASKS_PATH))
    except (OSError, ValueError, KeyError, pa.ArrowException) as err:
        raise DatasetError(f"cannot read the dataset metadata: {err}", path=str(root)) from err
    header = DatasetHeader(int(info["fps"]), info.get("robot_type"), info["features"])
    return ExistingDataset(root, info, header, tasks)


def _v30_tasks(root: Path) -> tuple[str, ...]:
    names = task_names(read_parquet(root / layout.TASKS_PATH))
    if names is None:
        raise ValueError(f"{layout.TASKS_PATH}: the task strings are not the pandas index")
    return tuple(names)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _v30_episodes(root: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        for row in read_parquet(path).to_pylist():
            row["stats"] = unflatten_stats(row)
            yield row


def _v21_episodes(root: Path) -> Iterator[dict[str, Any]]:
    stats = {row["episode_index"]: row["stats"] for row in _jsonl(root / layout.V21_EPISODES_STATS_PATH)}
    for row in _jsonl(root / layout.V21_EPISODES_PATH):
        yield {**row, "stats": stats_from_json(stats[row["episode_index"]])}
