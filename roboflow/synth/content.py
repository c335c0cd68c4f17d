"""Message objects of each synthetic stream, as rosbags typestore classes (ROS1 or ROS2).

Every factory turns ``(k, stamp_ns)`` into message ``k`` of its stream; values come from :mod:`.truth`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import simplejpeg
from rosbags.typesys.store import Typestore

from roboflow.synth import truth
from roboflow.synth.spec import SynthSpec
from roboflow.synth.timeline import Stream, StreamKind
from roboflow.synth.video import PacketEncoder

__all__ = ["MessageFactory", "factory_for"]


class MessageFactory(Protocol):
    """Builds the messages of one stream."""

    def build(self, k: int, stamp_ns: int) -> object:
        """Message ``k``, captured at ``stamp_ns`` (for headerless streams: logged at ``stamp_ns``)."""
        ...


class _Headers:
    """``std_msgs/Header`` for ROS1 (with ``seq``) or ROS2."""

    def __init__(self, typestore: Typestore, frame_id: str) -> None:
        self._header = typestore.types["std_msgs/msg/Header"]
        self._time = typestore.types["builtin_interfaces/msg/Time"]
        self._has_seq = any(name == "seq" for name, _ in typestore.fielddefs["std_msgs/msg/Header"][1])
        self._frame_id = frame_id

    def __call__(self, k: int, stamp_ns: int) -> Any:
        stamp = self._time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        if self._has_seq:
            return self._header(seq=k, stamp=stamp, frame_id=self._frame_id)
        return self._header(stamp=stamp, frame_id=self._frame_id)


class _JpegFrames:
    def __init__(self, spec: SynthSpec, stream: Stream, typestore: Typestore) -> None:
        camera = spec.cameras[stream.camera]
        self._renderer = truth.PatternRenderer(camera.width, camera.height, stream.camera)
        self._buffer = self._renderer.render(0)
        self._quality = spec.jpeg_quality
        self._headers = _Headers(typestore, camera.frame_id)
        self._cls = typestore.types[stream.msgtype]

    def build(self, k: int, stamp_ns: int) -> object:
        pixels = self._renderer.render(k, self._buffer)
        jpeg = simplejpeg.encode_jpeg(pixels, quality=self._quality, colorspace="RGB", colorsubsampling="420")
        data = np.frombuffer(jpeg, dtype=np.uint8)
        return self._cls(header=self._headers(k, stamp_ns), format="jpeg", data=data)


class _RawFrames:
    def __init__(self, spec: SynthSpec, stream: Stream, typestore: Typestore) -> None:
        camera = spec.cameras[stream.camera]
        self._renderer = truth.PatternRenderer(camera.width, camera.height, stream.camera)
        self._buffer = self._renderer.render(0)
        self._width, self._height = camera.width, camera.height
        self._headers = _Headers(typestore, camera.frame_id)
        self._cls = typestore.types[stream.msgtype]

    def build(self, k: int, stamp_ns: int) -> object:
        # The buffer is reused: the message must be serialized before the next build of this stream.
        pixels = self._renderer.render(k, self._buffer)
        return self._cls(
            header=self._headers(k, stamp_ns),
            height=self._height,
            width=self._width,
            encoding="rgb8",
            is_bigendian=0,
            step=3 * self._width,
            data=pixels.reshape(-1),
        )


class _VideoFrames:
    """Video packets as foxglove CompressedVideo, FFMPEGPacket or a CompressedImage in a video format."""

    def __init__(self, spec: SynthSpec, stream: Stream, typestore: Typestore) -> None:
        camera = spec.cameras[stream.camera]
        codec = camera.kind.codec
        assert codec is not None
        self._encoder = PacketEncoder(codec, camera.width, camera.height, stream.camera, spec.video_gop,
                                      stream.count)
        self._camera = camera
        self._format = "h265" if codec == "hevc" else codec  # foxglove's name; FFmpeg's is hevc
        self._headers = _Headers(typestore, camera.frame_id)
        self._time = typestore.types["builtin_interfaces/msg/Time"]
        self._kind = stream.kind
        self._cls = typestore.types[stream.msgtype]

    def build(self, k: int, stamp_ns: int) -> object:
        packet, key = self._encoder.packet(k)
        data = np.frombuffer(packet, dtype=np.uint8)
        if self._kind is StreamKind.VIDEO:
            stamp = self._time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
            return self._cls(timestamp=stamp, frame_id=self._camera.frame_id, data=data, format=self._format)
        header = self._headers(k, stamp_ns)
        if self._kind is StreamKind.FFMPEG:
            encoder = "libx264" if self._format == "h264" else "libx265"
            return self._cls(header=header, width=self._camera.width, height=self._camera.height,
                             encoding=encoder, pts=k, flags=int(key), is_bigendian=False, data=data)
        return self._cls(header=header, format=self._format, data=data)


class _JointStates:
    def __init__(self, spec: SynthSpec, stream: Stream, typestore: Typestore) -> None:
        self._start = spec.start_time_ns
        self._joints = np.arange(spec.n_joints)
        self._names = [f"joint_{j}" for j in range(spec.n_joints)]
        self._headers = _Headers(typestore, "")
        self._cls = typestore.types[stream.msgtype]

    def build(self, k: int, stamp_ns: int) -> object:
        t = truth.seconds(stamp_ns, self._start)
        return self._cls(
            header=self._headers(k, stamp_ns),
            name=self._names,
            position=truth.joint_position(t, self._joints),
            velocity=truth.joint_velocity(t, self._joints),
            effort=truth.joint_effort(t, self._joints),
        )


class _Actions:
    def __init__(self, spec: SynthSpec, stream: Stream, typestore: Typestore) -> None:
        self._start = spec.start_time_ns
        self._components = np.arange(spec.n_joints)
        dimension = typestore.types["std_msgs/msg/MultiArrayDimension"]
        layout = typestore.types["std_msgs/msg/MultiArrayLayout"]
        self._layout = layout(
            dim=[dimension(label="joints", size=spec.n_joints, stride=spec.n_joints)], data_offset=0
        )
        self._cls = typestore.types[stream.msgtype]

    def build(self, k: int, stamp_ns: int) -> object:
        data = truth.action(truth.seconds(stamp_ns, self._start), self._components)
        return self._cls(layout=self._layout, data=data)


_FACTORIES: dict[StreamKind, Callable[[SynthSpec, Stream, Typestore], MessageFactory]] = {
    StreamKind.JPEG: _JpegFrames,
    StreamKind.RGB8: _RawFrames,
    StreamKind.VIDEO: _VideoFrames,
    StreamKind.FFMPEG: _VideoFrames,
    StreamKind.IMAGE_VIDEO: _VideoFrames,
    StreamKind.JOINTS: _JointStates,
    StreamKind.ACTION: _Actions,
}


def factory_for(spec: SynthSpec, stream: Stream, typestore: Typestore) -> MessageFactory:
    """The message factory of ``stream``, building classes of ``typestore``."""
    return _FACTORIES[stream.kind](spec, stream, typestore)
