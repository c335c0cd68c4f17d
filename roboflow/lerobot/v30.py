"""The v3.0 assembler: many episodes per data and video file, parquet metadata.

Data rows of consecutive episodes go into one parquet file until the next episode would bring it to
``data_files_size_in_mb`` (estimated from the file's bytes per row so far); each camera has its own series of
mp4 files, rolled over the same way at ``video_files_size_in_mb`` or when an episode's codec parameters
differ. An episode never spans two files. Files are written under a temporary name and renamed when whole.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError
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
from roboflow.lerobot.metafiles import open_parquet, partial_path, write_json, write_parquet
from roboflow.lerobot.restats import complete_stats
from roboflow.lerobot.stats import STAT_KEYS, Stats, aggregate_stats, stats_to_json
from roboflow.lerobot.taskfile import tasks_table
from roboflow.lerobot.videocat import VideoJoiner, stream_params

__all__ = ["V30Assembler", "v30_info"]

_MB = 1024 * 1024


def _rolls(size: int, frames: int, length: int, limit_mb: float) -> bool:
    """lerobot's rule: a new file when the current one plus the episode (at its bytes per frame) reaches the limit."""
    return frames > 0 and size + size / frames * length >= limit_mb * _MB


class _DataFiles:
    """The series of data parquet files."""

    def __init__(self, root: Path, limits: FileLimits) -> None:
        self.root, self.limits = root, limits
        self.chunk, self.file, self.frames = 0, 0, 0
        self.writer: pq.ParquetWriter | None = None

    @property
    def path(self) -> Path:
        return self.root / layout.data_path(self.chunk, self.file)

    def place(self, length: int, schema: pa.Schema) -> tuple[int, int]:
        """Chunk and file index for an episode of ``length`` rows, opening a new file if needed."""
        if self.writer is not None:
            size = partial_path(self.path).stat().st_size
            if _rolls(size, self.frames, length, self.limits.data_files_size_in_mb):
                self.close()
                self.chunk, self.file = layout.next_chunk_file(self.chunk, self.file, self.limits.chunks_size)
        if self.writer is None:
            self.writer, self.frames = open_parquet(partial_path(self.path), schema), 0
        return self.chunk, self.file

    def write(self, table: pa.Table) -> None:
        assert self.writer is not None
        self.writer.write_table(table)
        self.frames += table.num_rows

    def close(self, *, publish: bool = True) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            if publish:
                os.replace(partial_path(self.path), self.path)


class _VideoFiles:
    """The series of mp4 files of one camera."""

    def __init__(self, root: Path, key: str, fps: int, limits: FileLimits) -> None:
        self.root, self.key, self.fps, self.limits = root, key, fps, limits
        self.chunk, self.file = 0, 0
        self.joiner: VideoJoiner | None = None

    @property
    def path(self) -> Path:
        return self.root / layout.video_path(self.key, self.chunk, self.file)

    def append(self, part: EpisodePart) -> tuple[int, int, int]:
        """Copy the episode's frames; returns (chunk, file, first frame number in that file)."""
        piece = part.videos[self.key]
        joiner = self.joiner
        if joiner is not None and (
            _rolls(joiner.bytes, joiner.frames, piece.length, self.limits.video_files_size_in_mb)
            or joiner.params != stream_params(piece.path)
        ):
            self.close()
            self.chunk, self.file = layout.next_chunk_file(self.chunk, self.file, self.limits.chunks_size)
        if self.joiner is None:
            self.joiner = VideoJoiner(partial_path(self.path), self.fps)
        return self.chunk, self.file, self.joiner.append(piece)

    def close(self, *, publish: bool = True) -> None:
        if self.joiner is not None:
            self.joiner.close()
            if publish:
                os.replace(self.joiner.path, self.path)
            self.joiner = None


def _head_type(column: str) -> pa.DataType:
    if column == "tasks":
        return pa.list_(pa.string())
    return pa.float64() if column.endswith("_timestamp") else pa.int64()


def v30_info(
    header: DatasetHeader, limits: FileLimits, *, episodes: int, frames: int, tasks: int
) -> dict[str, Any]:
    """The info.json of a v3.0 dataset, fields in lerobot's order."""
    files = {
        "chunks_size": limits.chunks_size,
        "data_files_size_in_mb": limits.data_files_size_in_mb,
        "video_files_size_in_mb": limits.video_files_size_in_mb,
    }
    return info_json(
        header,
        codebase=layout.CODEBASE_V30,
        totals=(episodes, frames, tasks),
        files=files,
        data_path=layout.DEFAULT_DATA_PATH,
        video_path=layout.DEFAULT_VIDEO_PATH,
    )


class V30Assembler(AssemblerBase):
    """Writes a v3.0 dataset into an empty directory (see :class:`roboflow.lerobot.assemble.Assembler`)."""

    def __init__(self, out_dir: Path, header: DatasetHeader, limits: FileLimits) -> None:
        super().__init__(out_dir, header, limits)
        self.stats: list[Stats] = []
        self.data = _DataFiles(out_dir, limits)
        self.videos = {key: _VideoFiles(out_dir, key, header.fps, limits) for key in header.video_keys}

    def _append(self, part: EpisodePart) -> int:
        part = complete_stats(part, self.header)
        episode = len(self.episodes)
        if self.schema is None:
            self.schema = output_schema(part.rows.path, self.header.features)
        chunk, file = self.data.place(part.length, self.schema)
        copied = copy_rows(
            part,
            episode=episode,
            first_index=self.frames,
            tasks=self.tasks,
            schema=self.schema,
            write=self.data.write,
        )
        row: dict[str, Any] = {
            "episode_index": episode,
            "tasks": list(copied.tasks),
            "length": part.length,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": self.frames,
            "dataset_to_index": self.frames + part.length,
        }
        fps = self.header.fps
        for key, files in self.videos.items():
            video_chunk, video_file, first = files.append(part)
            row[f"videos/{key}/chunk_index"] = video_chunk
            row[f"videos/{key}/file_index"] = video_file
            row[f"videos/{key}/from_timestamp"] = first / fps
            row[f"videos/{key}/to_timestamp"] = (first + part.length) / fps
        self.episodes.append(row)
        self.stats.append({key: value for key, value in copied.stats.items() if key in self.header.features})
        self.frames += part.length
        return episode

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            series: list[_DataFiles | _VideoFiles] = [self.data, *self.videos.values()]
            for files in series:
                # the files stay under their partial names; a failure to close them must not hide the
                # error that made the caller abort
                with contextlib.suppress(DatasetError, OSError, pa.ArrowException):
                    files.close(publish=False)

    def _write_metadata(self) -> None:
        self.data.close()
        for video in self.videos.values():
            video.close()
        write_parquet(self.root / layout.episodes_path(0, 0), self._episodes_table())
        write_parquet(self.root / layout.TASKS_PATH, tasks_table(self.tasks.names))
        write_json(self.root / layout.STATS_PATH, stats_to_json(aggregate_stats(self.stats)))

    def _info(self) -> dict[str, Any]:
        return v30_info(
            self.header,
            self.limits,
            episodes=len(self.episodes),
            frames=self.frames,
            tasks=len(self.tasks.names),
        )

    def _episodes_table(self) -> pa.Table:
        columns: dict[str, pa.Array] = {}
        for name in self.episodes[0]:
            columns[name] = pa.array([row[name] for row in self.episodes], type=_head_type(name))
        for feature in (key for key in self.header.features if key in self.stats[0]):
            for stat in STAT_KEYS:
                if stat not in self.stats[0][feature]:
                    continue
                values = [np.asarray(stats[feature][stat]) for stats in self.stats]
                leaf = pa.int64() if stat == "count" else pa.float64()
                kind = leaf
                for _ in range(values[0].ndim):
                    kind = pa.list_(kind)
                columns[f"stats/{feature}/{stat}"] = pa.array([v.tolist() for v in values], type=kind)
        columns["meta/episodes/chunk_index"] = pa.array([0] * len(self.episodes), type=pa.int64())
        columns["meta/episodes/file_index"] = pa.array([0] * len(self.episodes), type=pa.int64())
        return pa.table(columns)
