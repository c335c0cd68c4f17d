"""Merge's ``images_to_video``: the ``image`` features of each episode become video features.

Each episode's pictures are decoded in row order and encoded into one mp4 per feature in a work directory;
its rows are rewritten there without the picture columns. The assembler then takes the episode like any
other, joining the mp4s by stream copy, and the files are deleted. Stats are those of the pictures (lerobot
computes a video's stats from the frames it encodes, the same pictures).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from roboflow.lerobot.assemble import DatasetHeader, EpisodePart, RowSlice, read_rows
from roboflow.lerobot.images import image_keys, iter_images
from roboflow.lerobot.restats import complete_stats
from roboflow.lerobot.videocat import VideoSlice
from roboflow.media.encoder import VideoEncoder
from roboflow.media.frames import PixelLayout, to_video_frame
from roboflow.media.probe import video_info
from roboflow.media.settings import VideoSettings

__all__ = ["ImagesToVideo"]


class ImagesToVideo:
    """Turns the ``image`` features of a dataset's episodes into video features.

    Args:
        workdir: An empty directory for the episode's mp4s and rows while the assembler copies them.
        source: The header of the datasets being merged (with ``image`` features).
        settings: How the pictures are encoded.
    """

    def __init__(self, workdir: Path, source: DatasetHeader, settings: VideoSettings) -> None:
        self.workdir, self.source, self.settings = workdir, source, settings
        self.keys = image_keys(source.features)
        #: The output's header; known once the first episode is converted (its videos give the info block).
        self.header: DatasetHeader | None = None if self.keys else source
        self._count = 0

    @contextmanager
    def convert(self, part: EpisodePart) -> Iterator[EpisodePart]:
        """The episode with its pictures as videos, for the time the block runs."""
        if not self.keys:
            yield part
            return
        part = complete_stats(part, self.source)
        self._count += 1
        stem = self.workdir / f"episode-{self._count}"
        files = [stem.with_suffix(".parquet")]
        try:
            rows = self._rows(part, files[0])
            videos = dict(part.videos)
            for key in self.keys:
                files.append(stem.with_name(f"{stem.name}-{key}.mp4"))
                videos[key] = self._encode(part, key, files[-1])
            if self.header is None:
                self.header = self._header(videos)
            yield dataclasses.replace(part, rows=rows, videos=videos)
        finally:
            for path in files:
                path.unlink(missing_ok=True)

    def _rows(self, part: EpisodePart, path: Path) -> RowSlice:
        writer: pq.ParquetWriter | None = None
        try:
            columns = [name for name in pq.read_schema(part.rows.path).names if name not in self.keys]
            for kept in read_rows(part.rows, columns=columns):
                if writer is None:
                    writer = pq.ParquetWriter(path, kept.schema.with_metadata(None))
                writer.write_batch(kept)
        finally:
            if writer is not None:
                writer.close()
        return RowSlice(path, 0, part.length)

    def _encode(self, part: EpisodePart, key: str, path: Path) -> VideoSlice:
        height, width, _ = self.source.features[key]["shape"]
        encoder = VideoEncoder(path, width=width, height=height, fps=self.source.fps, settings=self.settings)
        try:
            for image in iter_images(part.rows, key, part.origin or str(part.rows.path)):
                encoder.encode(to_video_frame(image, PixelLayout.RGB))
            encoder.close()
        except BaseException:
            encoder.abort()
            raise
        return VideoSlice(path, 0, part.length)

    def _header(self, videos: dict[str, VideoSlice]) -> DatasetHeader:
        features: dict[str, Any] = {}
        for key, feature in self.source.features.items():
            if key in self.keys:
                features[key] = {
                    "dtype": "video",
                    "shape": list(feature["shape"]),
                    "names": ["height", "width", "channels"],
                    "info": video_info(videos[key].path),
                }
            else:
                features[key] = feature
        return dataclasses.replace(self.source, features=features)
