"""LeRobot datasets: feature spec, on-disk layout, stats, episode writer, dataset writers, merge, validate."""

from __future__ import annotations

from roboflow.lerobot.episode import EpisodeResult, EpisodeWriter
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, FlushSettings, VectorFeature, VideoSettings

__all__ = [
    "CameraFeature",
    "DatasetSpec",
    "EpisodeResult",
    "EpisodeWriter",
    "FlushSettings",
    "VectorFeature",
    "VideoSettings",
]
