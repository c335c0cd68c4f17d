"""Assemble a dataset from episodes that already exist as files.

An :class:`EpisodePart` points at an episode's rows (a range of a parquet file) and its videos (frame ranges
of mp4 files) wherever they are: the output of an episode writer, or an episode of an existing dataset being
merged. An assembler (:func:`open_assembler`, one per on-disk version) appends parts in order: it renumbers
``episode_index``, ``index`` and ``task_index`` (tasks unioned in order of first appearance), keeps
``frame_index`` and ``timestamp``, copies videos without re-encoding, and writes the metadata in
:meth:`Assembler.finalize`, ``meta/info.json`` last.
"""

from __future__ import annotations

import importlib
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError
from roboflow.lerobot.images import hf_schema_metadata, image_keys
from roboflow.lerobot.layout import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DATA_FILE_SIZE_IN_MB,
    DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    INFO_PATH,
)
from roboflow.lerobot.metafiles import write_json
from roboflow.lerobot.rows import RowSlice, read_rows
from roboflow.lerobot.stats import Stats, feature_stats
from roboflow.lerobot.validate_common import same_column_type
from roboflow.lerobot.videocat import VideoSlice

__all__ = [
    "FORMATS",
    "Assembler",
    "AssemblerBase",
    "DatasetHeader",
    "EpisodePart",
    "FileLimits",
    "RowSlice",
    "TaskTable",
    "VideoSlice",
    "check_format",
    "conform_rows",
    "copy_rows",
    "info_json",
    "open_assembler",
    "output_schema",
    "prepare_output",
    "read_rows",
]

#: Output version -> "module:class" of its assembler.
FORMATS = {"v3.0": "roboflow.lerobot.v30:V30Assembler", "v2.1": "roboflow.lerobot.v21:V21Assembler"}

@dataclass(frozen=True, slots=True)
class EpisodePart:
    """One episode to append.

    Attributes:
        length: Number of frames.
        task_names: Task string of each ``task_index`` value its rows use (index i -> task_names[i]).
        rows: Where its rows are; their columns and types must be those of the output.
        videos: Camera key -> its frames.
        stats: Per-episode stats (:mod:`roboflow.lerobot.stats`); those of ``episode_index``, ``index`` and
            ``task_index`` are recomputed from the renumbered rows.
        origin: Names the episode in error messages (a shard path, ``episode 3``).
    """

    length: int
    task_names: tuple[str, ...]
    rows: RowSlice
    videos: Mapping[str, VideoSlice]
    stats: Mapping[str, Mapping[str, np.ndarray]]
    origin: str = ""


@dataclass(frozen=True, slots=True)
class DatasetHeader:
    """What every episode of a dataset shares: fps, robot type, the info.json ``features`` block."""

    fps: int
    robot_type: str | None
    features: Mapping[str, Any]

    @property
    def video_keys(self) -> list[str]:
        """Camera features, in info.json order."""
        return [key for key, feature in self.features.items() if feature.get("dtype") == "video"]


@dataclass(frozen=True, slots=True)
class FileLimits:
    """The file-size settings of info.json (v3.0 rolls over to a new file at these sizes)."""

    chunks_size: int = DEFAULT_CHUNK_SIZE
    data_files_size_in_mb: float = DEFAULT_DATA_FILE_SIZE_IN_MB
    video_files_size_in_mb: float = DEFAULT_VIDEO_FILE_SIZE_IN_MB

    def __post_init__(self) -> None:
        if self.chunks_size < 1 or self.data_files_size_in_mb <= 0 or self.video_files_size_in_mb <= 0:
            raise DatasetError(f"file limits must be positive: {self}")


class Assembler(Protocol):
    """Appends episodes to a dataset being written."""

    def add(self, part: EpisodePart) -> int:
        """Append an episode; returns its episode_index."""
        ...

    def finalize(self, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Close every file and write the metadata, info.json last; idempotent.

        ``provenance`` (if given) is written as ``meta/roboflow.json`` before info.json.

        Returns:
            The content of the written ``meta/info.json``.
        """
        ...

    def abort(self) -> None:
        """Close open files without writing metadata: the dataset stays invalid; idempotent."""
        ...


class AssemblerBase(ABC):
    """What the assembler of every version shares: the checks of add and finalize, and info.json last.

    A subclass appends an episode in :meth:`_append` and writes its version's other metadata in
    :meth:`_write_metadata`; ``episodes`` holds one metadata row per added episode.
    """

    def __init__(self, out_dir: Path, header: DatasetHeader, limits: FileLimits) -> None:
        self.root, self.header, self.limits = out_dir, header, limits
        self.tasks = TaskTable()
        self.episodes: list[dict[str, Any]] = []
        self.frames = 0
        self.schema: pa.Schema | None = None
        self.closed = False
        self.info: dict[str, Any] | None = None

    def add(self, part: EpisodePart) -> int:
        """Append an episode; returns its episode_index."""
        if self.closed:
            raise DatasetError("the dataset is finalised; no more episodes can be added", path=str(self.root))
        cameras = self.header.video_keys
        if set(part.videos) != set(cameras):
            raise DatasetError(
                f"has cameras {sorted(part.videos)}, the dataset has {sorted(cameras)}",
                path=part.origin or None,
            )
        return self._append(part)

    def finalize(self, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """See :meth:`Assembler.finalize`."""
        if self.info is not None:
            return self.info
        if self.closed:
            raise DatasetError("the write was aborted; the dataset cannot be finalised", path=str(self.root))
        if not self.episodes:
            raise DatasetError("no episodes to write", path=str(self.root))
        self.closed = True
        self._write_metadata()
        if provenance is not None:
            write_json(self.root / "meta" / "roboflow.json", dict(provenance))
        info = self._info()
        write_json(self.root / INFO_PATH, info)
        self.info = info
        return info

    @abstractmethod
    def abort(self) -> None:
        """See :meth:`Assembler.abort`."""

    @abstractmethod
    def _append(self, part: EpisodePart) -> int:
        """Write the episode's rows and videos and record its metadata; returns its episode_index."""

    @abstractmethod
    def _write_metadata(self) -> None:
        """Close the files and write the metadata other than info.json and meta/roboflow.json."""

    @abstractmethod
    def _info(self) -> dict[str, Any]:
        """The content of meta/info.json."""


def info_json(
    header: DatasetHeader,
    *,
    codebase: str,
    totals: tuple[int, int, int],
    files: Mapping[str, Any],
    data_path: str,
    video_path: str,
) -> dict[str, Any]:
    """An info.json, fields in lerobot's order.

    Args:
        header: fps, robot type and features.
        codebase: The ``codebase_version``.
        totals: Numbers of episodes, frames and tasks.
        files: The version's own fields on file counts and sizes, which stand between ``total_tasks`` and
            ``fps``.
        data_path: The data file template.
        video_path: The video file template (written as null when there is no camera).
    """
    episodes, frames, tasks = totals
    return {
        "codebase_version": codebase,
        "robot_type": header.robot_type,
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": tasks,
        **files,
        "fps": header.fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": data_path,
        "video_path": video_path if header.video_keys else None,
        "features": {key: dict(value) for key, value in header.features.items()},
    }


def open_assembler(
    out_dir: Path, header: DatasetHeader, *, format: str = "v3.0", limits: FileLimits = FileLimits()
) -> Assembler:
    """An assembler writing a dataset of version ``format`` into ``out_dir`` (see :func:`prepare_output`)."""
    check_format(format)
    module, name = FORMATS[format].split(":")
    factory: Callable[..., Assembler] = getattr(importlib.import_module(module), name)
    return factory(out_dir, header, limits)


def check_format(format: str) -> None:
    """Raise a DatasetError unless ``format`` is a version we write."""
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}", hint=f"use one of {', '.join(FORMATS)}")


def prepare_output(out_dir: Path, *, overwrite: bool) -> None:
    """Make ``out_dir`` an empty directory: refuse a non-empty one unless ``overwrite``, then empty it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError("exists and is not a directory", path=str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise DatasetError(
                "exists already, not overwriting", path=str(out_dir), hint="pass overwrite=True"
            )
        # info.json first: if the removal is interrupted the leftovers are not a dataset.
        (out_dir / "meta" / "info.json").unlink(missing_ok=True)
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


@dataclass
class TaskTable:
    """Task strings in order of first appearance, each with its dataset-wide task_index."""

    names: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def register(self, name: str) -> int:
        """The task_index of ``name``, assigning the next one if it is new."""
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
        return self._index[name]


@dataclass(frozen=True, slots=True)
class CopiedRows:
    """What copying an episode's rows found out."""

    tasks: tuple[str, ...]
    stats: Stats


def copy_rows(
    part: EpisodePart,
    *,
    episode: int,
    first_index: int,
    tasks: TaskTable,
    schema: pa.Schema,
    write: Callable[[pa.Table], None],
) -> CopiedRows:
    """Copy an episode's rows to ``write`` with ``episode_index``, ``index`` and ``task_index`` renumbered.

    Raises:
        DatasetError: The rows cannot be read, have another schema than ``schema``, a task_index without a
            task name, or another count than ``part.length``.
    """
    where = part.origin or str(part.rows.path)
    local_to_global: dict[int, int] = {}
    episode_tasks: list[str] = []
    task_columns: list[np.ndarray] = []
    done = 0
    try:
        for read in read_rows(part.rows):
            batch = conform_rows(read, schema)
            if batch is None:
                raise DatasetError(f"rows have schema {read.schema}, expected {schema}", path=where)
            local = batch.column("task_index").to_numpy(zero_copy_only=False)
            for value in _first_appearances(local):
                if value not in local_to_global:
                    if not 0 <= value < len(part.task_names):
                        raise DatasetError(f"task_index {value} has no task", path=where)
                    local_to_global[value] = tasks.register(part.task_names[value])
                    episode_tasks.append(part.task_names[value])
            lookup = np.array(
                [local_to_global.get(i, -1) for i in range(len(part.task_names))], dtype=np.int64
            )
            mapped = lookup[local]
            columns = {
                "episode_index": pa.array(np.full(batch.num_rows, episode, dtype=np.int64)),
                "index": pa.array(np.arange(done, done + batch.num_rows, dtype=np.int64) + first_index),
                "task_index": pa.array(mapped),
            }
            table = pa.Table.from_batches([batch])
            for name, values in columns.items():
                table = table.set_column(table.schema.get_field_index(name), name, values)
            write(table.replace_schema_metadata(schema.metadata))
            task_columns.append(mapped)
            done += batch.num_rows
    except (OSError, pa.ArrowException) as err:
        raise DatasetError(f"cannot copy rows: {err}", path=where) from err
    if done == 0 or done != part.length:
        raise DatasetError(f"has {done} rows, expected {part.length}", path=where)
    renumbered = {
        "episode_index": np.full(done, episode, dtype=np.int64),
        "index": np.arange(first_index, first_index + done, dtype=np.int64),
        "task_index": np.concatenate(task_columns),
    }
    stats = {key: dict(value) for key, value in part.stats.items()}
    stats.update({name: feature_stats(values) for name, values in renumbered.items()})
    return CopiedRows(tuple(episode_tasks), stats)


def output_schema(rows: Path, features: Mapping[str, Any]) -> pa.Schema:
    """The schema of the data files an assembler writes: the columns of the first episode's file ``rows``,
    with lerobot's ``huggingface`` metadata when there are ``image`` features (lerobot 0.3 needs it to read
    them as pictures) and none otherwise (each writer's own metadata names its own library version)."""
    schema = pq.read_schema(rows)
    return schema.with_metadata(hf_schema_metadata(features) if image_keys(features) else None)


def conform_rows(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch | None:
    """``batch`` with the types of ``schema``, or None if its columns differ in name, order or type.

    Types that differ only in the name of a list's child field agree (lerobot 0.4 names it ``element``,
    pyarrow ``item``).
    """
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    if batch.schema.names != schema.names or not all(
        same_column_type(have.type, want.type) for have, want in zip(batch.schema, schema, strict=True)
    ):
        return None
    return pa.RecordBatch.from_arrays(
        [column.cast(field.type) for column, field in zip(batch.columns, schema, strict=True)], schema=schema
    )


def _first_appearances(values: np.ndarray) -> list[int]:
    unique, first = np.unique(values, return_index=True)
    return [int(unique[i]) for i in np.argsort(first)]
