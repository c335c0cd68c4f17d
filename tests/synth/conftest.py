"""Read synthetic recordings back with the field's own libraries (never with roboflow's readers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader

from roboflow.synth import CameraSpec, ImageKind, SynthSpec


@dataclass(frozen=True)
class ReadMessage:
    """One message as read back: log time, header stamp (None without header) and the decoded object."""

    log_time: int
    stamp: int | None
    msg: Any


Recording = dict[str, list[ReadMessage]]


def _stamp(msg: Any) -> int | None:
    header = getattr(msg, "header", None)
    if header is not None:
        return int(header.stamp.sec * 1_000_000_000 + header.stamp.nanosec)
    stamp = getattr(msg, "timestamp", None)  # foxglove CompressedVideo, ROS or protobuf
    if stamp is None:
        return None
    if hasattr(stamp, "seconds"):
        return int(stamp.seconds * 1_000_000_000 + stamp.nanos)
    return int(stamp.sec * 1_000_000_000 + stamp.nanosec)


def read_mcap(path: Path) -> Recording:
    """All messages of an MCAP file, decoded by mcap_ros2, per topic in file order."""
    out: Recording = {}
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory(), ProtobufDecoderFactory()])
        for _, channel, message, decoded in reader.iter_decoded_messages(log_time_order=False):
            out.setdefault(channel.topic, []).append(ReadMessage(message.log_time, _stamp(decoded), decoded))
    return out


def read_rosbags(path: Path) -> Recording:
    """All messages of a ROS1 bag or rosbag2 directory, decoded by rosbags from the embedded definitions."""
    out: Recording = {}
    with AnyReader([path]) as reader:
        for connection, log_time, raw in reader.messages():
            decoded = reader.deserialize(raw, connection.msgtype)
            out.setdefault(connection.topic, []).append(ReadMessage(log_time, _stamp(decoded), decoded))
    return out


def read_recording(path: Path, fmt: str) -> Recording:
    """Read ``path`` of format ``fmt`` back."""
    return read_mcap(path) if fmt == "mcap" else read_rosbags(path)


SMALL_SPEC = SynthSpec(
    duration_s=1.0,
    cameras=(
        CameraSpec("cam_high", ImageKind.JPEG, 64, 48, 30.0),
        CameraSpec("cam_wrist", ImageKind.RGB8, 96, 72, 15.0),
    ),
    joint_rate_hz=200.0,
    n_joints=6,
    action_rate_hz=50.0,
    jitter=0.2,
    seed=7,
)


@pytest.fixture
def small_spec() -> SynthSpec:
    """A 1 s recording with tiny frames: 30 JPEG + 15 raw frames, 200 joint states, 50 actions."""
    return SMALL_SPEC


@pytest.fixture
def reader() -> Callable[[Path, str], Recording]:
    """``reader(path, fmt)`` reads a recording back with mcap / rosbags."""
    return read_recording
