"""When each message of a synthetic recording is captured and received.

Message ``k`` of a stream at ``rate`` Hz (period ``P = 1e9 / rate`` ns) has

* nominal time ``start_time_ns + round(k * P)``;
* header stamp (capture time) ``nominal + floor(u_k * jitter * P)``;
* log time (receive time) ``stamp + latency + floor(v_k * jitter * P)``, ``latency`` fixed per kind
  (:data:`LATENCY_NS`); headerless streams (the action) have ``log time == stamp`` (no latency, no second
  noise term), and their "stamp" in manifests is that log time.

``u_k, v_k`` are uniform in ``[0, 1)`` from a generator seeded by ``(seed, crc32(topic))``: adding a camera
does not change the times of the other streams. Since ``jitter < 0.5``, stamps and log times strictly
increase within each stream.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from roboflow.errors import ConfigError
from roboflow.synth.spec import ImageKind, SynthSpec

__all__ = ["LATENCY_NS", "Stream", "StreamKind", "stream_times", "streams", "time_blocks"]

Int64Array = npt.NDArray[np.int64]


class StreamKind(str, Enum):
    """What a stream carries."""

    JPEG = "jpeg"
    RGB8 = "rgb8"
    VIDEO = "video"  #: foxglove CompressedVideo
    FFMPEG = "ffmpeg"  #: ffmpeg_image_transport_msgs FFMPEGPacket
    IMAGE_VIDEO = "image_video"  #: sensor_msgs/CompressedImage carrying a video packet
    JOINTS = "joints"
    ACTION = "action"


#: Fixed transport latency (log time - stamp, before noise) per stream kind.
LATENCY_NS = {
    StreamKind.JPEG: 12_000_000,
    StreamKind.RGB8: 3_000_000,
    StreamKind.VIDEO: 20_000_000,
    StreamKind.FFMPEG: 20_000_000,
    StreamKind.IMAGE_VIDEO: 20_000_000,
    StreamKind.JOINTS: 500_000,
    StreamKind.ACTION: 0,
}

MSGTYPES = {
    StreamKind.JPEG: "sensor_msgs/msg/CompressedImage",
    StreamKind.RGB8: "sensor_msgs/msg/Image",
    StreamKind.VIDEO: "foxglove_msgs/msg/CompressedVideo",
    StreamKind.FFMPEG: "ffmpeg_image_transport_msgs/msg/FFMPEGPacket",
    StreamKind.IMAGE_VIDEO: "sensor_msgs/msg/CompressedImage",
    StreamKind.JOINTS: "sensor_msgs/msg/JointState",
    StreamKind.ACTION: "std_msgs/msg/Float64MultiArray",
}


_STREAM_KINDS = {
    ImageKind.JPEG: StreamKind.JPEG,
    ImageKind.RGB8: StreamKind.RGB8,
    ImageKind.H264: StreamKind.VIDEO,
    ImageKind.H265: StreamKind.VIDEO,
    ImageKind.AV1: StreamKind.VIDEO,
    ImageKind.FFMPEG_H264: StreamKind.FFMPEG,
    ImageKind.FFMPEG_H265: StreamKind.FFMPEG,
    ImageKind.IMAGE_H264: StreamKind.IMAGE_VIDEO,
}


@dataclass(frozen=True, slots=True)
class Stream:
    """One topic of a synthetic recording."""

    topic: str
    kind: StreamKind
    rate_hz: float
    count: int
    camera: int = -1  #: index into ``SynthSpec.cameras`` for camera streams

    @property
    def msgtype(self) -> str:
        """The ROS message type, e.g. ``sensor_msgs/msg/JointState``."""
        return MSGTYPES[self.kind]

    @property
    def has_header(self) -> bool:
        """Whether the messages carry a ``std_msgs/Header`` with the capture stamp."""
        return self.kind is not StreamKind.ACTION


def streams(spec: SynthSpec) -> tuple[Stream, ...]:
    """The streams of ``spec``: cameras in order, then joint states, then actions."""
    cameras = tuple(
        Stream(
            camera.topic,
            _STREAM_KINDS[camera.kind],
            camera.fps,
            spec.count(camera.fps),
            index,
        )
        for index, camera in enumerate(spec.cameras)
    )
    return (
        *cameras,
        Stream(spec.joint_topic, StreamKind.JOINTS, spec.joint_rate_hz, spec.count(spec.joint_rate_hz)),
        Stream(spec.action_topic, StreamKind.ACTION, spec.action_rate_hz, spec.count(spec.action_rate_hz)),
    )


def time_blocks(
    spec: SynthSpec, stream: Stream, block: int = 4096
) -> Iterator[tuple[Int64Array, Int64Array]]:
    """Stamps and log times of ``stream`` in blocks of ``block`` messages (memory bounded).

    The values do not depend on ``block``.
    """
    rng = np.random.default_rng([spec.seed, zlib.crc32(stream.topic.encode())])
    period_ns = 1e9 / stream.rate_hz
    spread_ns = spec.jitter * period_ns
    for first in range(0, stream.count, block):
        k = np.arange(first, min(first + block, stream.count), dtype=np.float64)
        noise = rng.random((len(k), 2))  # row-major: (u_k, v_k) pairs, so blocks do not change values
        stamps = spec.start_time_ns + np.round(k * period_ns).astype(np.int64)
        stamps += np.floor(noise[:, 0] * spread_ns).astype(np.int64)
        if stream.has_header:
            logs = stamps + LATENCY_NS[stream.kind] + np.floor(noise[:, 1] * spread_ns).astype(np.int64)
        else:
            logs = stamps.copy()
        yield stamps, logs


def stream_times(spec: SynthSpec, topic: str) -> tuple[Int64Array, Int64Array]:
    """All header stamps and log times of ``topic`` (for tests: what the recording holds, in order).

    Raises:
        ConfigError: ``spec`` has no such topic.
    """
    for stream in streams(spec):
        if stream.topic == topic:
            blocks = list(time_blocks(spec, stream))
            if not blocks:
                return np.empty(0, np.int64), np.empty(0, np.int64)
            return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
    known = ", ".join(stream.topic for stream in streams(spec))
    raise ConfigError(f"no topic {topic!r} in this recording", hint=f"topics: {known}")
