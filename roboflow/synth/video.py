"""Video cameras of synthetic recordings: one encoded frame per message, and the message types that carry them.

Packets are what camera drivers that record video publish: no B-frames (packet ``k`` decodes to frame ``k``
as soon as it arrives), a keyframe every ``gop`` frames, h264/h265 in Annex B with SPS/PPS (and VPS) in
front of every keyframe, AV1 as low-overhead OBUs with the sequence header at every keyframe.
"""

from __future__ import annotations

import os
from fractions import Fraction
from functools import lru_cache
from typing import Any

import av
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from rosbags.typesys import get_types_from_msg
from rosbags.typesys.store import Typestore

from roboflow.synth import truth

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its configuration otherwise (as media/encoder.py)

__all__ = [
    "COMPRESSED_VIDEO",
    "VIDEO_ENCODERS",
    "PacketEncoder",
    "add_video_types",
    "foxglove_video",
    "serialize_protobuf",
    "serialize_protobuf_fields",
]

#: The ROS message type of foxglove's CompressedVideo.
COMPRESSED_VIDEO = "foxglove_msgs/msg/CompressedVideo"
#: codec -> (FFmpeg encoder, its options for one packet per frame without B-frames, keyframe option).
VIDEO_ENCODERS: dict[str, tuple[str, dict[str, str]]] = {
    "h264": ("libx264", {"tune": "zerolatency", "preset": "veryfast", "crf": "23", "threads": "1",
                         "x264-params": "keyint={gop}:min-keyint={gop}:scenecut=0"}),
    "hevc": ("libx265", {"tune": "zerolatency", "preset": "veryfast", "crf": "26",
                         "x265-params": "keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:repeat-headers=1:"
                         "rc-lookahead=0:log-level=error"}),
    "av1": ("libsvtav1", {"preset": "10", "crf": "20",
                          "svtav1-params": "keyint={gop}:scd=0:pred-struct=1:lp=1"}),
}

_ROS_TYPES = {
    COMPRESSED_VIDEO: "builtin_interfaces/Time timestamp\nstring frame_id\nuint8[] data\nstring format\n",
    "ffmpeg_image_transport_msgs/msg/FFMPEGPacket": (
        "std_msgs/Header header\nint32 width\nint32 height\nstring encoding\nuint64 pts\nuint8 flags\n"
        "bool is_bigendian\nuint8[] data\n"
    ),
}


def add_video_types(typestore: Typestore) -> None:
    """Register foxglove_msgs/CompressedVideo and ffmpeg_image_transport_msgs/FFMPEGPacket (not built in)."""
    for name, text in _ROS_TYPES.items():
        typestore.register(get_types_from_msg(text, name))


class PacketEncoder:
    """Encodes camera ``camera``'s frames ``0, 1, ...`` into one packet each, in order.

    Args:
        codec: ``h264``, ``hevc`` or ``av1``.
        width: Frame width.
        height: Frame height.
        camera: Camera index shown in the frame pattern.
        gop: Keyframe interval in frames.
        count: Frames in the stream (the encoder is drained after the last).
    """

    def __init__(self, codec: str, width: int, height: int, camera: int, gop: int, count: int) -> None:
        name, options = VIDEO_ENCODERS[codec]
        context: Any = av.CodecContext.create(name, "w")
        context.width, context.height, context.pix_fmt = width, height, "yuv420p"
        context.time_base = Fraction(1, 30)
        context.gop_size = gop
        context.max_b_frames = 0
        context.options = {key: value.format(gop=gop) for key, value in options.items()}
        self._context = context
        self._renderer = truth.PatternRenderer(width, height, camera)
        self._buffer = self._renderer.render(0)
        self._count = count
        self._next = 0  # next frame to feed
        self._packets: dict[int, tuple[bytes, bool]] = {}

    def packet(self, k: int) -> tuple[bytes, bool]:
        """Packet ``k`` (the encoded frame ``k``) and whether it is a keyframe; ``k`` counts up from 0."""
        while k not in self._packets:
            if self._next < self._count:
                frame = av.VideoFrame.from_ndarray(self._renderer.render(self._next, self._buffer), format="rgb24")
                frame = frame.reformat(format="yuv420p")
                frame.pts = self._next
                self._next += 1
                packets = self._context.encode(frame)
            else:
                packets = self._context.encode(None)
                if not packets:
                    raise RuntimeError(f"the encoder gave no packet for frame {k}")
            for packet in packets:
                self._packets[int(packet.pts)] = (bytes(packet), bool(packet.is_keyframe))
        return self._packets.pop(k)


@lru_cache(maxsize=1)
def _video_class() -> tuple[type[Any], bytes]:
    """foxglove.CompressedVideo as a protobuf class, and the FileDescriptorSet an MCAP schema holds."""
    timestamp = descriptor_pb2.FileDescriptorProto.FromString(timestamp_pb2.DESCRIPTOR.serialized_pb)
    video = descriptor_pb2.FileDescriptorProto(
        name="foxglove/CompressedVideo.proto", package="foxglove", syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    message = video.message_type.add(name="CompressedVideo")
    fields = descriptor_pb2.FieldDescriptorProto
    for number, (field, kind, type_name) in enumerate(
        (("timestamp", fields.TYPE_MESSAGE, ".google.protobuf.Timestamp"), ("frame_id", fields.TYPE_STRING, ""),
         ("data", fields.TYPE_BYTES, ""), ("format", fields.TYPE_STRING, "")), start=1,
    ):
        message.field.add(name=field, number=number, type=kind, type_name=type_name or None,
                          label=fields.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(timestamp)
    pool.Add(video)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("foxglove.CompressedVideo"))
    descriptors = descriptor_pb2.FileDescriptorSet(file=[timestamp, video])
    return cls, descriptors.SerializeToString()


def foxglove_video() -> tuple[str, bytes]:
    """The protobuf schema name and FileDescriptorSet of foxglove.CompressedVideo."""
    return "foxglove.CompressedVideo", _video_class()[1]


def serialize_protobuf(msg: Any, msgtype: str) -> memoryview:
    """A ROS ``foxglove_msgs/msg/CompressedVideo`` object serialized as foxglove's protobuf message."""
    assert msgtype == COMPRESSED_VIDEO
    stamp = msg.timestamp
    return memoryview(serialize_protobuf_fields(stamp.sec * 1_000_000_000 + stamp.nanosec, msg.frame_id,
                                                msg.data.tobytes(), msg.format))


def serialize_protobuf_fields(stamp_ns: int, frame_id: str, data: bytes, fmt: str) -> bytes:
    """foxglove.CompressedVideo's protobuf bytes from its fields."""
    out = _video_class()[0](frame_id=frame_id, data=data, format=fmt)
    out.timestamp.seconds, out.timestamp.nanos = divmod(stamp_ns, 1_000_000_000)
    return bytes(out.SerializeToString())
