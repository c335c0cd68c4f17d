"""Write a LeRobot dataset frame by frame: the public façade over the episode writer and an assembler.

Example::

    with DatasetWriter(out_dir, spec, format="v3.0") as writer:
        for episode in episodes:
            for frame, task in episode:
                writer.add_frame(frame, task)
            writer.save_episode()
    # leaving the block finalises the dataset (writes the metadata, info.json last)

Each episode is written by an :class:`~roboflow.lerobot.episode.EpisodeWriter` into ``out_dir/.staging`` and
appended by the assembler of the chosen version when it is saved; its staging files are then deleted. Until
:meth:`DatasetWriter.finalize` returns there is no ``meta/info.json``, so an interrupted write is never taken
for a dataset.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from roboflow.errors import DatasetError
from roboflow.lerobot.assemble import (
    Assembler,
    DatasetHeader,
    EpisodePart,
    FileLimits,
    RowSlice,
    VideoSlice,
    check_format,
    open_assembler,
    prepare_output,
)
from roboflow.lerobot.episode import EpisodeResult, EpisodeWriter
from roboflow.lerobot.spec import DatasetSpec, FlushSettings, VideoSettings, info_features

__all__ = ["STAGING_DIR", "DatasetWriter", "part_from_result"]

#: Directory inside the output where episodes are written before they are appended.
STAGING_DIR = ".staging"


def part_from_result(result: EpisodeResult, origin: str = "") -> EpisodePart:
    """The :class:`EpisodePart` of a finished episode (its whole rows and videos)."""
    return EpisodePart(
        length=result.length,
        task_names=result.tasks,
        rows=RowSlice(result.data_path, 0, result.length),
        videos={key: VideoSlice(path, 0, result.length) for key, path in result.video_paths.items()},
        stats=result.stats,
        origin=origin,
    )


class DatasetWriter:
    """Write a dataset of version ``format`` into ``out_dir``, episode by episode.

    Args:
        out_dir: Output directory; must be empty or absent unless ``overwrite``.
        spec: Features, fps and robot type.
        format: ``"v3.0"`` (lerobot >= 0.4) or ``"v2.1"`` (lerobot 0.3.x).
        video: Encoder settings (``[video]``).
        flushing: Memory bounds of the episode writer (``[flushing]``).
        limits: v3.0 file sizes and chunk size (recorded in info.json).
        overwrite: Replace whatever ``out_dir`` holds.

    Raises:
        DatasetError: ``out_dir`` holds files and ``overwrite`` is false, or an unknown ``format``.
    """

    def __init__(
        self,
        out_dir: str | Path,
        spec: DatasetSpec,
        format: str = "v3.0",
        video: VideoSettings | None = None,
        flushing: FlushSettings | None = None,
        *,
        limits: FileLimits | None = None,
        overwrite: bool = False,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.spec = spec
        self.format = format
        self._video = video or VideoSettings()
        self._flushing = flushing or FlushSettings()
        self._limits = limits or FileLimits()
        check_format(format)
        prepare_output(self.out_dir, overwrite=overwrite)
        self._episode: EpisodeWriter | None = None
        self._assembler: Assembler | None = None
        self._header: DatasetHeader | None = None
        self._saved = 0
        #: Of the last saved episode: pass-through camera -> why its packets were re-encoded.
        self.reencoded: dict[str, str] = {}
        self._info: dict[str, Any] | None = None
        self._aborted = False

    @property
    def episodes(self) -> int:
        """Episodes saved so far."""
        return self._saved

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.finalize()
        else:
            self.abort()

    def add_frame(self, frame: Mapping[str, np.ndarray], task: str) -> None:
        """Append a frame to the current episode (started on the first frame); see ``EpisodeWriter.add_frame``."""
        self._check_open()
        if self._episode is None:
            workdir = self.out_dir / STAGING_DIR / f"episode-{self._saved:06d}"
            self._episode = EpisodeWriter(workdir, self.spec, self._video, self._flushing)
        self._episode.add_frame(frame, task)

    def save_episode(self) -> int:
        """Finish the current episode and append it to the dataset.

        Returns:
            Its episode_index.

        Raises:
            DatasetError: No frame was added since the last save, or writing failed.
        """
        self._check_open()
        if self._episode is None:
            raise DatasetError("no frames were added since the last save_episode()", path=str(self.out_dir))
        episode, self._episode = self._episode, None
        result = episode.finish()
        header = DatasetHeader(
            self.spec.fps, self.spec.robot_type, info_features(self.spec, result.video_info)
        )
        if self._assembler is None:
            self._header = header
            self._assembler = open_assembler(self.out_dir, header, format=self.format, limits=self._limits)
        elif header != self._header:
            raise DatasetError(
                f"episode {self._saved} has other video parameters than episode 0: {result.video_info}",
                path=str(self.out_dir),
            )
        index = self._assembler.add(part_from_result(result, origin=f"episode {self._saved}"))
        self.reencoded = result.reencoded
        shutil.rmtree(episode.workdir, ignore_errors=True)
        self._saved += 1
        return index

    def finalize(self, provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write the metadata (info.json last) and remove the staging directory; idempotent.

        Args:
            provenance: Written as ``meta/roboflow.json`` (merge carries it into merged datasets).

        Returns:
            The content of ``meta/info.json``.

        Raises:
            DatasetError: An episode has frames that were not saved, or no episode was saved.
        """
        if self._info is not None:
            return self._info
        self._check_open()
        if self._episode is not None:
            raise DatasetError(
                f"episode {self._saved} has {self._episode.length} frames that were not saved",
                path=str(self.out_dir),
                hint="call save_episode() before finalize()",
            )
        if self._assembler is None:
            raise DatasetError("no episodes were saved", path=str(self.out_dir))
        self._info = self._assembler.finalize(provenance)
        shutil.rmtree(self.out_dir / STAGING_DIR, ignore_errors=True)
        return self._info

    def abort(self) -> None:
        """Stop writing: the current episode is dropped and no metadata is written (the output stays invalid)."""
        if self._info is not None or self._aborted:
            return
        self._aborted = True
        if self._episode is not None:
            self._episode.abort()
            self._episode = None
        if self._assembler is not None:
            self._assembler.abort()
        shutil.rmtree(self.out_dir / STAGING_DIR, ignore_errors=True)

    def _check_open(self) -> None:
        if self._aborted:
            raise DatasetError("the write was aborted", path=str(self.out_dir))
        if self._info is not None:
            raise DatasetError("the dataset is finalised", path=str(self.out_dir))
