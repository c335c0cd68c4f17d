"""Recompute an episode's stats from its files, for sources whose stats lack keys the output needs.

v2.1 datasets carry no quantiles; a v3.0 output needs them. Numeric features are recomputed from the
episode's rows, video cameras from its sampled video frames (lerobot's evenly spaced ones, decoded, so within
codec error of the originals), ``image`` cameras from the sampled pictures in its rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from roboflow.lerobot.assemble import DatasetHeader, EpisodePart, read_rows
from roboflow.lerobot.images import image_stats_of_rows
from roboflow.lerobot.stats import (
    STAT_KEYS,
    Stats,
    column_values,
    feature_stats,
)
from roboflow.lerobot.validate_common import stats_features
from roboflow.lerobot.videostats import video_stats

__all__ = ["complete_stats"]


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
            stats[key] = video_stats(part.videos[key], features[key]["shape"], header.fps).stats
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
