"""The conversion config: TOML in, a validated and hashed :class:`Config` out.

``load_config(path)`` reads and validates a file; ``parse_config(text)`` validates text; ``starter_config(info)``
writes a commented starter config for a recording (``roboflow init-config``). The reference of every key is in
docs/convert.md.
"""

from __future__ import annotations

from roboflow.config.model import (
    Config,
    DatasetSettings,
    EpisodeRules,
    FlushingSettings,
    Mapping,
    MappingType,
    MissingJoint,
    Policy,
    SourceSettings,
    StreamingSettings,
    TimeSource,
    TopicInput,
    VideoConfig,
)
from roboflow.config.schema import FORMATS, closest, load_config, parse_config, video_settings

__all__ = [
    "FORMATS",
    "Config",
    "DatasetSettings",
    "EpisodeRules",
    "FlushingSettings",
    "Mapping",
    "MappingType",
    "MissingJoint",
    "Policy",
    "SourceSettings",
    "StreamingSettings",
    "TimeSource",
    "TopicInput",
    "VideoConfig",
    "closest",
    "load_config",
    "parse_config",
    "video_settings",
]
