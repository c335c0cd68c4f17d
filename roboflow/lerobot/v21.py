"""The v2.1 assembler: one parquet and one mp4 per camera for every episode, jsonl metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from roboflow.lerobot import layout
from roboflow.lerobot.assemble import (
    AssemblerBase,
    DatasetHeader,
    EpisodePart,
    FileLimits,
    copy_rows,
    info_json,
    output_schema,
)
from roboflow.lerobot.metafiles import open_parquet, partial_path, write_jsonl
from roboflow.lerobot.stats import QUANTILE_KEYS, stats_to_json
from roboflow.lerobot.videocat import VideoJoiner

__all__ = ["V21Assembler", "v21_info"]


def v21_info(
    header: DatasetHeader, limits: FileLimits, *, episodes: int, frames: int, tasks: int
) -> dict[str, Any]:
    """The info.json of a v2.1 dataset, fields in lerobot's order."""
    files = {
        "total_videos": episodes * len(header.video_keys),
        "total_chunks": -(-episodes // limits.chunks_size),
        "chunks_size": limits.chunks_size,
    }
    return info_json(
        header,
        codebase=layout.CODEBASE_V21,
        totals=(episodes, frames, tasks),
        files=files,
        data_path=layout.V21_DATA_PATH,
        video_path=layout.V21_VIDEO_PATH,
    )


class V21Assembler(AssemblerBase):
    """Writes a v2.1 dataset into an empty directory (see :class:`roboflow.lerobot.assemble.Assembler`).

    Stats are written without quantiles (v2.1's episodes_stats.jsonl has min, max, mean, std, count).
    """

    def __init__(self, out_dir: Path, header: DatasetHeader, limits: FileLimits) -> None:
        super().__init__(out_dir, header, limits)
        self.stats: list[dict[str, Any]] = []

    def _append(self, part: EpisodePart) -> int:
        episode = len(self.episodes)
        if self.schema is None:
            self.schema = output_schema(part.rows.path, self.header.features)
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

    def _write_metadata(self) -> None:
        write_jsonl(
            self.root / layout.V21_TASKS_PATH,
            ({"task_index": i, "task": name} for i, name in enumerate(self.tasks.names)),
        )
        write_jsonl(self.root / layout.V21_EPISODES_PATH, self.episodes)
        write_jsonl(self.root / layout.V21_EPISODES_STATS_PATH, self.stats)

    def _info(self) -> dict[str, Any]:
        return v21_info(
            self.header,
            self.limits,
            episodes=len(self.episodes),
            frames=self.frames,
            tasks=len(self.tasks.names),
        )
