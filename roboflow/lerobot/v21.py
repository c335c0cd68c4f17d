"""The v2.1 assembler: one parquet and one mp4 per camera for every episode, jsonl metadata."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError
from roboflow.lerobot import layout
from roboflow.lerobot.assemble import DatasetHeader, EpisodePart, FileLimits, TaskTable, copy_rows
from roboflow.lerobot.metafiles import open_parquet, partial_path, write_json, write_jsonl
from roboflow.lerobot.stats import QUANTILE_KEYS, stats_to_json
from roboflow.lerobot.videocat import VideoJoiner

__all__ = ["V21Assembler", "v21_info"]


def v21_info(
    header: DatasetHeader, limits: FileLimits, *, episodes: int, frames: int, tasks: int
) -> dict[str, Any]:
    """The info.json of a v2.1 dataset, fields in lerobot's order."""
    return {
        "codebase_version": layout.CODEBASE_V21,
        "robot_type": header.robot_type,
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": tasks,
        "total_videos": episodes * len(header.video_keys),
        "total_chunks": -(-episodes // limits.chunks_size),
        "chunks_size": limits.chunks_size,
        "fps": header.fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": layout.V21_DATA_PATH,
        "video_path": layout.V21_VIDEO_PATH if header.video_keys else None,
        "features": {key: dict(value) for key, value in header.features.items()},
    }


class V21Assembler:
    """Writes a v2.1 dataset into an empty directory (see :class:`roboflow.lerobot.assemble.Assembler`).

    Stats are written without quantiles (v2.1's episodes_stats.jsonl has min, max, mean, std, count).
    """

    def __init__(self, out_dir: Path, header: DatasetHeader, limits: FileLimits) -> None:
        self.root, self.header, self.limits = out_dir, header, limits
        self.tasks = TaskTable()
        self.episodes: list[dict[str, Any]] = []
        self.stats: list[dict[str, Any]] = []
        self.frames = 0
        self.schema: pa.Schema | None = None
        self.closed = False
        self.info: dict[str, Any] | None = None

    def add(self, part: EpisodePart) -> int:
        if self.closed:
            raise DatasetError("the dataset is finalised; no more episodes can be added", path=str(self.root))
        if set(part.videos) != set(self.header.video_keys):
            raise DatasetError(
                f"has cameras {sorted(part.videos)}, the dataset has {sorted(self.header.video_keys)}",
                path=part.origin or None,
            )
        episode = len(self.episodes)
        if self.schema is None:
            self.schema = pq.read_schema(part.rows.path)
        path = self.root / layout.v21_data_path(episode, self.limits.chunks_size)
        writer = open_parquet(partial_path(path), self.schema)
        try:
            copied = copy_rows(
                part,
                episode=episode,
                first_index=self.frames,
                tasks=self.tasks,
                schema=self.schema,
                write=writer.write_table,
            )
        finally:
            writer.close()
        os.replace(partial_path(path), path)
        for key in self.header.video_keys:
            target = self.root / layout.v21_video_path(key, episode, self.limits.chunks_size)
            joiner = VideoJoiner(partial_path(target), self.header.fps)
            try:
                joiner.append(part.videos[key])
            finally:
                joiner.close()
            os.replace(joiner.path, target)
        self.episodes.append({"episode_index": episode, "tasks": list(copied.tasks), "length": part.length})
        stats = {
            feature: {key: value for key, value in values.items() if key not in QUANTILE_KEYS}
            for feature, values in copied.stats.items()
            if feature in self.header.features
        }
        self.stats.append({"episode_index": episode, "stats": stats_to_json(stats)})
        self.frames += part.length
        return episode

    def abort(self) -> None:
        self.closed = True

    def finalize(self, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if self.info is not None:
            return self.info
        if self.closed:
            raise DatasetError("the write was aborted; the dataset cannot be finalised", path=str(self.root))
        if not self.episodes:
            raise DatasetError("no episodes to write", path=str(self.root))
        self.closed = True
        meta = self.root / "meta"
        write_jsonl(
            self.root / layout.V21_TASKS_PATH,
            ({"task_index": i, "task": name} for i, name in enumerate(self.tasks.names)),
        )
        write_jsonl(self.root / layout.V21_EPISODES_PATH, self.episodes)
        write_jsonl(self.root / layout.V21_EPISODES_STATS_PATH, self.stats)
        if provenance is not None:
            write_json(meta / "roboflow.json", dict(provenance))
        info = v21_info(
            self.header,
            self.limits,
            episodes=len(self.episodes),
            frames=self.frames,
            tasks=len(self.tasks.names),
        )
        write_json(self.root / layout.INFO_PATH, info)
        self.info = info
        return info
