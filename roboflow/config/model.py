"""The validated conversion config: frozen records with every default filled in.

:mod:`roboflow.config.schema` builds these from TOML; everything downstream reads only these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
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
]


class MappingType(str, Enum):
    """What a mapping produces: a camera stream or a vector."""

    IMAGE = "image"
    STATE = "state"
    ACTION = "action"


class Policy(str, Enum):
    """How a stream is resampled onto the dataset's frame times (see :mod:`roboflow.align`)."""

    HOLD = "hold"
    NEAREST = "nearest"
    INTERPOLATE = "interpolate"
    DROP = "drop"


class TimeSource(str, Enum):
    """Which time of a message places it on the timeline."""

    LOG = "log"
    HEADER = "header"


class MissingJoint(str, Enum):
    """What happens when a JointState message lacks a selected joint (or a value array is short).

    ``hold`` keeps the joint's last value in the episode (an error before it has one). NaN is not offered:
    LeRobot's stats and normalisation cannot use it and the episode writer refuses non-finite values.
    """

    ERROR = "error"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """``[source]``: where recordings come from when the command line names none.

    Attributes:
        type: Declared format (``mcap``, ``bag``, ``ros2``, ``rrd``); informational, formats are detected.
        path: A recording, directory or glob to convert when no INPUT is given.
        topics: Extra topics to read; informational (mapped topics are always read).
    """

    type: str | None = None
    path: str | None = None
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetSettings:
    """``[dataset]``."""

    name: str
    fps: int
    robot_type: str = "unknown"
    task: str | None = None
    task_topic: str | None = None
    format: str = "v3.0"
    time: TimeSource = TimeSource.LOG

    @property
    def default_task(self) -> str:
        """The task of frames for which no task message has arrived (the task string, else the name)."""
        return self.task if self.task is not None else self.name


@dataclass(frozen=True, slots=True)
class TopicInput:
    """One topic feeding a mapping, with how to extract and resample it.

    Attributes:
        topic: Topic name.
        fields: Field paths to extract, concatenated in this order; None means the type's default
            (JointState ``position``, ``data`` of numeric arrays, the pose/twist of geometry messages).
        joints: JointState joint names to select, in this order; None means all joints in the order of
            the first message. On a type that is not a JointState, ``fields`` give the JointState inside it.
        policy: Resampling policy.
        tolerance_ns: Largest allowed distance between a frame time and the sample used, or None.
        time: Message time used on the timeline.
        missing_joint: What to do when a selected joint is absent from a message.
    """

    topic: str
    fields: tuple[str, ...] | None = None
    joints: tuple[str, ...] | None = None
    policy: Policy = Policy.HOLD
    tolerance_ns: int | None = None
    time: TimeSource = TimeSource.LOG
    missing_joint: MissingJoint = MissingJoint.ERROR


@dataclass(frozen=True, slots=True)
class Mapping:
    """``[[mappings]]``: one dataset feature fed by one or more topics.

    Attributes:
        feature: LeRobot feature key, e.g. ``observation.images.front`` or ``observation.state``.
        mapping_type: image, state or action.
        inputs: The topics, concatenated in order (exactly one for images).
        names: Names of the vector dimensions; None means derived (joint names, field paths).
        depth_max: For image mappings of 16-bit or float frames (depth): the value stored as white when
            scaling to 8-bit gray; None refuses such frames.
    """

    feature: str
    mapping_type: MappingType
    inputs: tuple[TopicInput, ...]
    names: tuple[str, ...] | None = None
    depth_max: float | None = None

    @property
    def is_image(self) -> bool:
        return self.mapping_type is MappingType.IMAGE

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(i.topic for i in self.inputs)


@dataclass(frozen=True, slots=True)
class VideoConfig:
    """``[video]``: how camera streams are encoded (None keeps the writer's default)."""

    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    gop: int | None = None
    pix_fmt: str | None = None
    threads: int | None = None


@dataclass(frozen=True, slots=True)
class FlushingSettings:
    """``[flushing]``: the bounds on buffered frames and bytes per episode."""

    max_frames_per_chunk: int = 1000
    max_memory_bytes: int = 2 * 1024**3


@dataclass(frozen=True, slots=True)
class StreamingSettings:
    """``[streaming]`` (seed compatibility; used by the distributed executor)."""

    finalize_metadata_in_coordinator: bool = True


@dataclass(frozen=True, slots=True)
class EpisodeRules:
    """``[episodes]``: how a recording is cut into episodes.

    Attributes:
        split: ``none`` (one recording = one episode), ``gap`` (a new episode after a time gap) or
            ``topic`` (a new episode at every message of ``topic``).
        gap_s: For ``gap``: the gap, in seconds, between consecutive required samples that starts a new
            episode.
        topic: For ``topic``: the marker topic.
        min_frames: Episodes shorter than this are skipped (reported, not written).
    """

    split: str = "none"
    gap_s: float = 1.0
    topic: str | None = None
    min_frames: int = 1


@dataclass(frozen=True, slots=True)
class Config:
    """A validated conversion config.

    Attributes:
        dataset: Dataset settings.
        mappings: Features in declared order.
        source: Source settings.
        video: Video encoding settings.
        flushing: Memory bounds.
        streaming: Seed streaming settings.
        episodes: Episode rules.
        text: The TOML text the config was read from.
        sha256: SHA-256 of ``text`` (UTF-8), hex.
        origin: Where the text came from (a path), for messages.
    """

    dataset: DatasetSettings
    mappings: tuple[Mapping, ...]
    source: SourceSettings = SourceSettings()
    video: VideoConfig = VideoConfig()
    flushing: FlushingSettings = FlushingSettings()
    streaming: StreamingSettings = StreamingSettings()
    episodes: EpisodeRules = EpisodeRules()
    text: str = field(default="", repr=False)
    sha256: str = ""
    origin: str = "<config>"

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the conversion reads, without duplicates, in declared order."""
        seen: dict[str, None] = {}
        for mapping in self.mappings:
            for topic in mapping.topics:
                seen.setdefault(topic, None)
        for extra in (self.dataset.task_topic, self.episodes.topic):
            if extra:
                seen.setdefault(extra, None)
        return tuple(seen)
