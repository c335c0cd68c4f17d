"""Write one episode, frame by frame: parquet rows, one mp4 per camera, lerobot stats.

The result is a finished episode in a work directory (an :class:`EpisodeResult`), numbered as if it were
episode 0 of its own dataset; the dataset writers and the merge renumber it. Nothing is buffered per
episode: rows go to parquet row groups as they fill, frames go to one encoder thread per camera through a
bounded queue, image stats spill subsampled pixels to disk and read back only the sampled frames.

Example::

    with EpisodeWriter(workdir, spec, VideoSettings(), FlushSettings()) as writer:
        for frame in frames:
            writer.add_frame(frame, task="pick the cube")
        result = writer.finish()
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from roboflow.errors import DatasetError
from roboflow.lerobot.passthrough import PassthroughCamera
from roboflow.lerobot.samples import FrameSamples
from roboflow.lerobot.spec import DEFAULT_FEATURES, CameraFeature, DatasetSpec, FlushSettings, data_schema
from roboflow.lerobot.stats import FeatureStats, Stats, parquet_stats
from roboflow.lerobot.videocat import VideoSlice
from roboflow.lerobot.videostats import Sampling, video_stats
from roboflow.media.encoder import VideoEncoder
from roboflow.media.frames import PixelLayout, frame_layout, kept_frame, wrap_frame
from roboflow.media.probe import video_frame_count, video_info
from roboflow.media.settings import VideoSettings
from roboflow.media.worker import EncoderThread

__all__ = ["DATA_FILE", "VIDEO_DIR", "EpisodeResult", "EpisodeWriter"]

#: Names inside the work directory.
DATA_FILE = "data.parquet"
VIDEO_DIR = "videos"
_SAMPLES_DIR = ".samples"

#: Frames that may wait per camera for its encoder, at most (fewer when max_memory_bytes is small).
MAX_QUEUED_FRAMES = 16


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """A finished episode in a work directory, numbered as episode 0 of its own dataset.

    Attributes:
        spec: The spec it was written with.
        length: Number of frames (rows, and frames of every video).
        tasks: Distinct task strings in order of first appearance; ``task_index`` points into it.
        data_path: Parquet file of the rows in :func:`~roboflow.lerobot.spec.data_schema`:
            ``episode_index`` 0, ``index`` = ``frame_index`` = 0..length-1,
            ``timestamp`` = float32(frame_index / fps).
        video_paths: Camera key -> mp4 with exactly ``length`` frames, frame k at pts k/fps.
        stats: Per-episode stats of every feature (vectors, cameras, timestamp and index columns) with
            quantiles, as :mod:`roboflow.lerobot.stats` computes them. The stats of ``index``,
            ``episode_index`` and ``task_index`` describe this numbering; a writer that renumbers must
            recompute them.
        video_info: Camera key -> info.json ``info`` block of its stream.
        reencoded: Pass-through camera key -> why its packets could not be copied in this episode.
    """

    spec: DatasetSpec
    length: int
    tasks: tuple[str, ...]
    data_path: Path
    video_paths: dict[str, Path]
    stats: Stats
    video_info: dict[str, dict[str, Any]]
    reencoded: dict[str, str] = field(default_factory=dict)


class _Rows:
    """Data rows buffered in column arrays and written as parquet row groups."""

    def __init__(self, path: Path, spec: DatasetSpec, rows_per_group: int) -> None:
        self.path = path
        self.count = 0
        self._spec = spec
        self._schema = data_schema(spec)
        self._vectors = {v.key: np.empty((rows_per_group, v.size), dtype=np.float32) for v in spec.vectors}
        self._tasks = np.empty(rows_per_group, dtype=np.int64)
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(path, self._schema, compression="snappy")

    def add(self, vectors: Mapping[str, np.ndarray], task_index: int) -> None:
        row = self._buffered
        for key, value in vectors.items():
            self._vectors[key][row] = value
        self._tasks[row] = task_index
        self._buffered += 1
        self.count += 1
        if self._buffered == len(self._tasks):
            self.flush()

    def flush(self) -> None:
        rows = self._buffered
        if rows == 0 or self._writer is None:
            return
        frame_index = np.arange(self.count - rows, self.count, dtype=np.int64)
        columns: list[pa.Array] = [_vector_column(buffer[:rows]) for buffer in self._vectors.values()]
        columns.append(pa.array((frame_index / self._spec.fps).astype(np.float32)))
        columns.append(pa.array(frame_index))  # frame_index
        columns.append(pa.array(np.zeros(rows, dtype=np.int64)))  # episode_index
        columns.append(pa.array(frame_index))  # index
        columns.append(pa.array(self._tasks[:rows].copy()))  # task_index
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self._schema), row_group_size=rows)
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.path.unlink(missing_ok=True)


def _vector_column(values: np.ndarray) -> pa.Array:
    """``(rows, N)`` float32 as the column :func:`~roboflow.lerobot.spec.vector_type` names: a plain float32
    column for N == 1, a ``fixed_size_list`` otherwise."""
    flat = pa.array(values.reshape(-1))
    return flat if values.shape[1] == 1 else pa.FixedSizeListArray.from_arrays(flat, values.shape[1])


class _State(str, Enum):
    OPEN = "open"
    FINISHED = "finished"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class _Camera:
    feature: CameraFeature
    thread: EncoderThread
    samples: FrameSamples


class EpisodeWriter:
    """Write one episode frame by frame into ``workdir``.

    Args:
        workdir: Directory for the episode's files (created; files of an earlier attempt are replaced).
        spec: Features and fps.
        video: Encoder settings (``[video]``).
        flushing: Memory bounds (``[flushing]``): rows per parquet row group and the memory allowed for
            buffered rows and queued camera frames.

    Use as a context manager: leaving the block by an exception, or without :meth:`finish`, aborts the
    episode and deletes its files.

    Raises:
        DatasetError: The work directory or an encoder cannot be set up.
    """

    def __init__(
        self,
        workdir: Path,
        spec: DatasetSpec,
        video: VideoSettings | None = None,
        flushing: FlushSettings | None = None,
    ) -> None:
        video = video or VideoSettings()
        flushing = flushing or FlushSettings()
        self.workdir = workdir
        self.spec = spec
        self._tasks: dict[str, int] = {}
        self._state = _State.OPEN
        self._cameras: list[_Camera] = []
        self._copied: list[PassthroughCamera] = []
        self._rows: _Rows | None = None
        row_bytes = 4 * sum(v.size for v in spec.vectors) + 4 + 8 * 4
        frame_bytes = sum(c.height * c.width * 3 for c in spec.cameras) or 1
        budget = flushing.max_memory_bytes // 2
        rows_per_group = max(1, min(flushing.max_frames_per_chunk, budget // row_bytes))
        queue_frames = max(1, min(MAX_QUEUED_FRAMES, budget // frame_bytes))
        try:
            (workdir / VIDEO_DIR).mkdir(parents=True, exist_ok=True)
            (workdir / _SAMPLES_DIR).mkdir(exist_ok=True)
            self._rows = _Rows(workdir / DATA_FILE, spec, rows_per_group)
            for camera in spec.cameras:
                if camera.passthrough:
                    self._copied.append(PassthroughCamera(workdir / VIDEO_DIR / f"{camera.key}.mp4", camera,
                                                          spec.fps, video, queue_frames))
                    continue
                samples = FrameSamples(
                    workdir / _SAMPLES_DIR / f"{camera.key}.rgb", camera.height, camera.width
                )
                try:
                    encoder = VideoEncoder(
                        workdir / VIDEO_DIR / f"{camera.key}.mp4",
                        width=camera.width,
                        height=camera.height,
                        fps=spec.fps,
                        settings=video,
                    )
                except BaseException:
                    samples.close()
                    raise
                thread = EncoderThread(encoder, queue_frames=queue_frames, name=camera.key)
                self._cameras.append(_Camera(camera, thread, samples))
        except OSError as err:
            self.abort()
            raise DatasetError(f"cannot create the episode files: {err}", path=str(workdir)) from err
        except BaseException:
            self.abort()
            raise

    @property
    def length(self) -> int:
        """Frames added so far."""
        return self._rows.count if self._rows is not None else 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._state is _State.OPEN:
            self.abort()

    def _check_frame(
        self, frame: Mapping[str, np.ndarray], task: str
    ) -> tuple[dict[str, np.ndarray], list[PixelLayout]]:
        if self._state is not _State.OPEN or self._rows is None:
            raise DatasetError(f"the episode is {self._state.value}; no more frames can be added")
        if not isinstance(task, str) or not task:
            raise DatasetError(f"frame {self.length}: task must be a non-empty string, got {task!r}")
        missing = [key for key in self.spec.keys if key not in frame]
        extra = sorted(key for key in frame if key not in self.spec.keys)
        if missing or extra:
            raise DatasetError(
                f"frame {self.length}: "
                + "; ".join(
                    part
                    for part in (
                        f"missing features {', '.join(missing)}" if missing else "",
                        f"unknown features {', '.join(extra)}" if extra else "",
                    )
                    if part
                )
            )
        vectors: dict[str, np.ndarray] = {}
        for vector in self.spec.vectors:
            value = np.asarray(frame[vector.key], dtype=np.float32)
            if value.shape != (vector.size,):
                raise DatasetError(
                    f"frame {self.length}: {vector.key} has shape {value.shape}, expected ({vector.size},)"
                )
            if not np.isfinite(value).all():
                raise DatasetError(
                    f"frame {self.length}: {vector.key} holds NaN or infinity: {value.tolist()}"
                )
            vectors[vector.key] = value
        layouts = [
            frame_layout(
                np.asarray(frame[camera.feature.key]),
                camera.feature.height,
                camera.feature.width,
                name=f"frame {self.length}: {camera.feature.key}",
            )
            for camera in self._cameras
        ]
        for camera, layout in zip(self._cameras, layouts, strict=True):
            if layout is PixelLayout.GRAY and camera.feature.channels != 1:
                raise DatasetError(
                    f"frame {self.length}: {camera.feature.key} got a grayscale frame for an RGB camera",
                    hint="declare the camera with channels=1",
                )
        return vectors, layouts

    def add_frame(self, frame: Mapping[str, np.ndarray], task: str) -> None:
        """Append one frame: every vector and camera of the spec, and the task it belongs to.

        Vectors are ``(N,)`` arrays (cast to float32). Camera frames are uint8 RGB ``(H, W, 3)``, planar
        yuv420p ``(H*3/2, W)`` or, for ``channels=1`` cameras, gray ``(H, W)``. Arrays are copied, so the
        caller may reuse them, unless they are frozen (:func:`~roboflow.media.frames.is_frozen`: read-only
        over ``bytes`` or their own memory), which are kept as they are until encoded. Blocks while the
        encoders are behind (never drops a frame).

        Raises:
            DatasetError: A missing/unknown feature, a wrong shape or dtype, a non-finite value, or an
                encoder that failed (then the episode cannot be finished).
        """
        vectors, layouts = self._check_frame(frame, task)
        for copied in self._copied:
            copied.add(frame[copied.feature.key])  # type: ignore[arg-type]  # a VideoPacket
        for camera, layout in zip(self._cameras, layouts, strict=True):
            data = kept_frame(np.asarray(frame[camera.feature.key]), layout)
            # Only read from now on: by the encoder, then by the stats on the encoder's thread.
            camera.thread.put(wrap_frame(data, layout), partial(camera.samples.add, data, layout))
        task_index = self._tasks.setdefault(task, len(self._tasks))
        assert self._rows is not None
        self._rows.add(vectors, task_index)

    def finish(self) -> EpisodeResult:
        """Complete the files and compute the stats.

        Raises:
            DatasetError: No frames were added, or writing/encoding failed (the episode is then aborted).
        """
        if self._state is not _State.OPEN or self._rows is None:
            raise DatasetError(f"the episode is {self._state.value}; it cannot be finished")
        if self.length == 0:
            raise DatasetError("an episode needs at least one frame", path=str(self.workdir))
        try:
            self._rows.close()
            for camera in self._cameras:
                camera.thread.end()  # encoders flush while the stats are computed
            columns = [v.key for v in self.spec.vectors] + list(DEFAULT_FEATURES)
            numeric = parquet_stats(self._rows.path, columns)
            images: Stats = {}
            infos: dict[str, dict[str, Any]] = {}
            for camera in self._cameras:
                path = camera.thread.encoder.path
                frames = camera.thread.wait()
                images[camera.feature.key] = camera.samples.stats()
                stored = video_frame_count(path)
                if frames != self.length or stored != self.length:
                    raise DatasetError(
                        f"camera {camera.feature.key}: video has {stored} frames for {self.length} rows",
                        path=str(path),
                    )
                infos[camera.feature.key] = video_info(path)
                camera.samples.close()
            with ThreadPoolExecutor(max(1, len(self._copied)), thread_name_prefix="copied-stats") as pool:
                for key, stats_of, info in pool.map(self._finish_copied, self._copied):
                    images[key], infos[key] = stats_of, info
            _remove_empty_dir(self.workdir / _SAMPLES_DIR)
        except BaseException:
            self.abort()
            raise
        self._state = _State.FINISHED
        stats: Stats = {v.key: numeric[v.key] for v in self.spec.vectors}
        stats.update(images)
        stats.update({key: numeric[key] for key in DEFAULT_FEATURES})
        return EpisodeResult(
            spec=self.spec,
            length=self.length,
            tasks=tuple(self._tasks),
            data_path=self._rows.path,
            video_paths={camera.feature.key: camera.thread.encoder.path for camera in self._cameras}
            | {copied.feature.key: copied.path for copied in self._copied},
            stats=stats,
            video_info=infos,
            reencoded={c.feature.key: c.reason for c in self._copied if c.reason is not None},
        )

    def _finish_copied(self, copied: PassthroughCamera) -> tuple[str, FeatureStats, dict[str, Any]]:
        """Complete a copied camera's file; its stats from the first frames of its GOPs, the only ones decoded
        (cameras in parallel). A camera that fell back to re-encoding is sampled as lerobot does."""
        key = copied.feature.key
        frames = copied.finish()
        stored = video_frame_count(copied.path)
        if frames != self.length or stored != self.length:
            raise DatasetError(f"camera {key}: video has {stored} frames for {self.length} rows", path=str(copied.path))
        piece = VideoSlice(copied.path, 0, self.length)
        sampling = Sampling.EVEN if copied.reason is not None else Sampling.GOP_LEADING
        stats = video_stats(piece, copied.feature.shape, self.spec.fps, sampling).stats
        return key, stats, video_info(copied.path)

    def abort(self) -> None:
        """Stop encoding and delete every file of the episode (idempotent; a no-op once finished)."""
        if self._state is _State.FINISHED:
            return
        self._state = _State.ABORTED
        for camera in self._cameras:
            camera.thread.abort()
            camera.samples.close()
        for copied in self._copied:
            copied.abort()
        if self._rows is not None:
            self._rows.abort()
        _remove_empty_dir(self.workdir / _SAMPLES_DIR)
        _remove_empty_dir(self.workdir / VIDEO_DIR)


def _remove_empty_dir(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty (files that are not ours) or already gone
