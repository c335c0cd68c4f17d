"""Recompute an episode's stats from its files, for sources whose stats lack keys the output needs.

v2.1 datasets carry no quantiles; a v3.0 output needs them. Numeric features are recomputed from the
episode's rows, video cameras from its sampled video frames (decoded, so within codec error of the
originals), ``image`` cameras from the sampled pictures in its rows.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import av
import numpy as np

from roboflow.errors import DatasetError
from roboflow.lerobot.assemble import DatasetHeader, EpisodePart, read_rows
from roboflow.lerobot.images import image_stats_of_rows
from roboflow.lerobot.stats import (
    STAT_KEYS,
    FeatureStats,
    Stats,
    column_values,
    feature_stats,
    image_stats_from_counts,
    level_counts,
    pixel_stride,
    sample_indices,
)
from roboflow.lerobot.validate_common import stats_features
from roboflow.lerobot.videocat import VideoSlice

__all__ = ["complete_stats", "video_stats"]


def complete_stats(part: EpisodePart, header: DatasetHeader) -> EpisodePart:
    """``part`` itself when its stats have every key of :data:`STAT_KEYS` for every feature, else a copy
    with the stats recomputed from its rows and videos."""
    features = header.features
    needed = stats_features(features)
    if all(set(STAT_KEYS) <= set(part.stats.get(name, {})) for name in needed):
        return part
    numeric = [key for key in needed if features[key]["dtype"] not in ("video", "image")]
    stats: Stats = _row_stats(part, numeric)
    for key in needed:
        if features[key]["dtype"] == "video":
            stats[key] = video_stats(part.videos[key], features[key]["shape"], header.fps)
        elif features[key]["dtype"] == "image":
            rows = part.rows
            stats[key] = image_stats_of_rows(rows, key, part.origin or str(rows.path))
    return dataclasses.replace(part, stats=stats)


def _row_stats(part: EpisodePart, columns: list[str]) -> Stats:
    if not columns:
        return {}
    batches = list(read_rows(part.rows, columns=columns))
    stats: Stats = {}
    for column in columns:
        stats[column] = feature_stats(
            np.concatenate([column_values(batch.column(column)) for batch in batches])
        )
    return stats


def video_stats(piece: VideoSlice, shape: list[int], fps: int) -> FeatureStats:
    """Image stats of a video's frames, from its sampled frames decoded."""
    height, width = shape[0], shape[1]
    stride = pixel_stride(height, width)
    sampled = sample_indices(piece.length)
    wanted = {piece.start + k for k in sampled}  # sampled frames not decoded yet
    counts = np.zeros((3, 256), dtype=np.int64)  # levels of the sampled frames, counted as they are decoded
    try:
        with av.open(str(piece.path)) as container:
            stream = container.streams.video[0]
            base = Fraction(stream.time_base or Fraction(1, 1))
            container.seek(
                int(Fraction(piece.start, fps) / base), stream=stream, backward=True, any_frame=False
            )
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                number = round(frame.pts * base * fps)
                if number >= piece.start + piece.length:
                    break
                if number in wanted:
                    wanted.remove(number)
                    counts += level_counts(frame.to_ndarray(format="rgb24")[::stride, ::stride])
    except av.FFmpegError as err:
        raise DatasetError(f"cannot decode video for stats: {err}", path=str(piece.path)) from err
    if wanted:
        raise DatasetError(f"{len(wanted)} sampled frames missing", path=str(piece.path))
    return image_stats_from_counts(counts, len(sampled))
