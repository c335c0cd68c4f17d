"""What a synthetic recording contains: cameras, joint states, actions, timing.

A :class:`SynthSpec` fully determines a recording: the same spec (including its ``seed``) always gives
the same messages, stamps and log times, whatever the output format.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from roboflow.errors import ConfigError
from roboflow.synth.truth import DEFAULT_START_NS, MAX_CAMERAS, MAX_FRAMES, MIN_HEIGHT, MIN_WIDTH

__all__ = [
    "DEFAULT_CAMERAS",
    "DEFAULT_START_NS",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "CameraSpec",
    "ImageKind",
    "SynthSpec",
    "parse_cameras",
]


class ImageKind(str, Enum):
    """How a camera publishes its frames."""

    JPEG = "jpeg"  #: sensor_msgs/CompressedImage, format "jpeg"
    RGB8 = "rgb8"  #: sensor_msgs/Image, encoding "rgb8"
    H264 = "h264"  #: foxglove CompressedVideo (protobuf in MCAP, foxglove_msgs in bags), format "h264"
    H265 = "h265"  #: foxglove CompressedVideo, format "h265"
    AV1 = "av1"  #: foxglove CompressedVideo, format "av1"
    FFMPEG_H264 = "ffmpeg_h264"  #: ffmpeg_image_transport_msgs/FFMPEGPacket, encoding "libx264"
    FFMPEG_H265 = "ffmpeg_h265"  #: ffmpeg_image_transport_msgs/FFMPEGPacket, encoding "libx265"
    IMAGE_H264 = "image_h264"  #: sensor_msgs/CompressedImage, format "h264" (FFmpeg-based transports)

    @property
    def codec(self) -> str | None:
        """The video codec of a video kind (``h264``, ``hevc``, ``av1``), None for JPEG and raw frames."""
        return _CODECS.get(self)

    @property
    def default_topic(self) -> str:
        """The topic suffix after ``/<name>``, following each transport's convention."""
        return _TOPICS.get(self, "/image_raw")


_CODECS = {
    ImageKind.H264: "h264", ImageKind.H265: "hevc", ImageKind.AV1: "av1",
    ImageKind.FFMPEG_H264: "h264", ImageKind.FFMPEG_H265: "hevc", ImageKind.IMAGE_H264: "h264",
}
_TOPICS = {
    ImageKind.JPEG: "/image_raw/compressed",
    ImageKind.H264: "/video", ImageKind.H265: "/video", ImageKind.AV1: "/video",
    ImageKind.FFMPEG_H264: "/image_raw/ffmpeg", ImageKind.FFMPEG_H265: "/image_raw/ffmpeg",
    ImageKind.IMAGE_H264: "/image_raw/h264",
}


_KINDS = ", ".join(k.value for k in ImageKind)


def _image_kind(kind: ImageKind | str) -> ImageKind:
    try:
        return ImageKind(kind)
    except ValueError:
        raise ConfigError(f"unknown camera kind {kind!r}", hint=f"use one of {_KINDS}") from None


def _check_rate(what: str, rate: float) -> None:
    if not (math.isfinite(rate) and 0 < rate <= 100_000):
        raise ConfigError(f"{what} {rate} must be a positive number of Hz")


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """One camera stream.

    Args:
        name: Camera name, used in the default topic and the frame id.
        kind: JPEG (CompressedImage), raw rgb8 (Image) or a video kind (one encoded frame per message).
        width: Frame width in pixels (>= 64).
        height: Frame height in pixels (>= 48).
        fps: Frames per second.
        topic: Topic name; by default ``/<name>/image_raw/compressed`` (JPEG), ``/<name>/image_raw`` (rgb8),
            ``/<name>/video`` (CompressedVideo), ``/<name>/image_raw/ffmpeg`` (FFMPEGPacket),
            ``/<name>/image_raw/h264`` (CompressedImage in h264).
    """

    name: str
    kind: ImageKind = ImageKind.JPEG
    width: int = 640
    height: int = 480
    fps: float = 30.0
    topic: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ConfigError(
                f"camera name {self.name!r} is not a valid ROS name", hint="use letters, digits, _"
            )
        object.__setattr__(self, "kind", _image_kind(self.kind))
        if self.width < MIN_WIDTH or self.height < MIN_HEIGHT:
            raise ConfigError(
                f"camera {self.name!r}: {self.width}x{self.height} is too small",
                hint=f"the smallest supported size is {MIN_WIDTH}x{MIN_HEIGHT}",
            )
        _check_rate(f"camera {self.name!r} fps", self.fps)
        if not self.topic:
            object.__setattr__(self, "topic", f"/{self.name}{self.kind.default_topic}")

    @property
    def frame_id(self) -> str:
        """The ``header.frame_id`` of this camera's messages."""
        return f"{self.name}_optical_frame"


DEFAULT_CAMERAS = (CameraSpec("cam_high", ImageKind.JPEG), CameraSpec("cam_wrist", ImageKind.RGB8))


@dataclass(frozen=True, slots=True)
class SynthSpec:
    """A whole synthetic recording.

    Args:
        duration_s: Length of the recording; each stream has ``ceil(duration_s * rate)`` messages.
        cameras: The camera streams, in order (the order is the camera index in the image pattern).
        joint_rate_hz: Rate of ``sensor_msgs/JointState``.
        n_joints: Number of joints (named ``joint_0`` ...) and of action components.
        action_rate_hz: Rate of the ``std_msgs/Float64MultiArray`` action topic.
        jitter: Timing noise as a fraction of each stream's period, in ``[0, 0.5)``; see :mod:`.timeline`.
        seed: Seed of the timing noise (the values themselves do not depend on it).
        start_time_ns: Nominal time of the first message of every stream (epoch nanoseconds).
        joint_topic: Topic of the joint states.
        action_topic: Topic of the actions.
        jpeg_quality: JPEG quality of the compressed cameras.
        video_gop: Keyframe interval of the video cameras, in frames (no B-frames; SPS/PPS with every
            keyframe).
    """

    duration_s: float = 5.0
    cameras: tuple[CameraSpec, ...] = DEFAULT_CAMERAS
    joint_rate_hz: float = 200.0
    n_joints: int = 14
    action_rate_hz: float = 50.0
    jitter: float = 0.1
    seed: int = 0
    start_time_ns: int = DEFAULT_START_NS
    joint_topic: str = "/joint_states"
    action_topic: str = "/action"
    jpeg_quality: int = 90
    video_gop: int = 30

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ConfigError(f"duration {self.duration_s} s must be positive")
        object.__setattr__(self, "cameras", tuple(self.cameras))
        _check_rate("joint rate", self.joint_rate_hz)
        _check_rate("action rate", self.action_rate_hz)
        if not 1 <= self.n_joints <= 1000:
            raise ConfigError(f"n_joints {self.n_joints} must be between 1 and 1000")
        if not 0 <= self.jitter < 0.5:
            raise ConfigError(
                f"jitter {self.jitter} must be in [0, 0.5)", hint="it is a fraction of the period"
            )
        if self.start_time_ns < 0:
            raise ConfigError(f"start time {self.start_time_ns} ns must not be negative")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"JPEG quality {self.jpeg_quality} must be between 1 and 100")
        if not 1 <= self.video_gop <= 10_000:
            raise ConfigError(f"video keyframe interval {self.video_gop} must be between 1 and 10000 frames")
        if len(self.cameras) > MAX_CAMERAS:
            raise ConfigError(f"{len(self.cameras)} cameras are too many", hint=f"use at most {MAX_CAMERAS}")
        for camera in self.cameras:
            if self.count(camera.fps) > MAX_FRAMES:
                raise ConfigError(f"camera {camera.name!r} would have more than {MAX_FRAMES} frames")
        topics = [camera.topic for camera in self.cameras] + [self.joint_topic, self.action_topic]
        duplicates = sorted({topic for topic in topics if topics.count(topic) > 1})
        if duplicates:
            raise ConfigError(
                f"topics used twice: {', '.join(duplicates)}", hint="give each camera its own name"
            )

    def count(self, rate_hz: float) -> int:
        """Number of messages of a stream at ``rate_hz`` (nominal times ``k / rate_hz < duration_s``)."""
        return math.ceil(round(self.duration_s * rate_hz, 6))


def parse_cameras(
    text: str, *, width: int = 640, height: int = 480, fps: float = 30.0
) -> tuple[CameraSpec, ...]:
    """Parse the CLI camera list ``NAME:KIND[:WxH][@FPS],...`` (``none`` for no camera).

    Args:
        text: e.g. ``"cam_high:jpeg,cam_wrist:rgb8:320x240@15"``.
        width: Width of cameras that do not give one.
        height: Height of cameras that do not give one.
        fps: Rate of cameras that do not give one.
    """
    if text.strip().lower() in ("", "none"):
        return ()
    cameras = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*([^:@\s]+)(?::(\w+))?(?::(\d+)x(\d+))?(?:@([0-9.]+))?\s*", item)
        if match is None:
            raise ConfigError(f"bad camera {item!r}", hint=f"write NAME:KIND[:WxH][@FPS], KIND one of {_KINDS}")
        name, kind, w, h, rate = match.groups()
        cameras.append(
            CameraSpec(
                name,
                _image_kind(kind or "jpeg"),
                int(w) if w else width,
                int(h) if h else height,
                float(rate) if rate else fps,
            )
        )
    return tuple(cameras)
