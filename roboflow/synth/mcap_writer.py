"""MCAP files with ROS2 (CDR) messages, ``ros2msg`` schemas and compressed chunks, via the mcap library.

Video cameras (foxglove CompressedVideo) are written as Foxglove's SDK writes them: protobuf messages with a
FileDescriptorSet schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from mcap.writer import CompressionType, Writer
from rosbags.typesys.store import Typestore

from roboflow import __version__
from roboflow.synth.video import COMPRESSED_VIDEO, foxglove_video

__all__ = ["McapWriter"]

_COMPRESSION = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}


class McapWriter:
    """Writes a ``ros2`` profile MCAP file, chunked (1 MiB) and compressed (zstd by default)."""

    ros_version: ClassVar[int] = 2
    compressions: ClassVar[tuple[str, ...]] = tuple(_COMPRESSION)
    protobuf_video: ClassVar[bool] = True

    def __init__(self, path: Path, compression: str) -> None:
        self._file = path.open("xb")
        self._writer = Writer(self._file, compression=_COMPRESSION[compression])
        self._writer.start(profile="ros2", library=f"roboflow-synth/{__version__}")
        self._schemas: dict[str, int] = {}
        self._closed = False

    def add_topic(self, topic: str, msgtype: str, typestore: Typestore) -> int:
        if msgtype == COMPRESSED_VIDEO:
            if msgtype not in self._schemas:
                name, descriptors = foxglove_video()
                self._schemas[msgtype] = self._writer.register_schema(name, "protobuf", descriptors)
            return self._writer.register_channel(topic, "protobuf", self._schemas[msgtype])
        if msgtype not in self._schemas:
            msgdef, _ = typestore.generate_msgdef(msgtype, ros_version=2)
            self._schemas[msgtype] = self._writer.register_schema(msgtype, "ros2msg", msgdef.encode())
        return self._writer.register_channel(topic, "cdr", self._schemas[msgtype])

    def write(self, channel: int, log_time_ns: int, data: memoryview) -> None:
        # rosbag2 also records publish_time = log_time.
        self._writer.add_message(channel, log_time_ns, data, log_time_ns)  # type: ignore[arg-type]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.finish()  # type: ignore[no-untyped-call]
            self._file.close()

    def abort(self) -> None:
        self._closed = True
        self._file.close()
