"""ROS1 bag v2.0 files, via rosbags (uncompressed, bz2 or lz4 chunks)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rosbags.rosbag1 import Writer
from rosbags.typesys.store import Typestore

from roboflow.synth.rosbags_writer import RosbagsWriter

__all__ = ["Ros1Writer"]

_COMPRESSION = {"none": None, "bz2": Writer.CompressionFormat.BZ2, "lz4": Writer.CompressionFormat.LZ4}


class Ros1Writer(RosbagsWriter[Writer]):
    """Writes a ROS1 bag (1 MiB chunks) with the connection headers of ``rosbags``."""

    ros_version: ClassVar[int] = 1
    compressions: ClassVar[tuple[str, ...]] = tuple(_COMPRESSION)

    def __init__(self, path: Path, compression: str) -> None:
        bag = Writer(path)
        fmt = _COMPRESSION[compression]
        if fmt is not None:
            bag.set_compression(fmt)
        super().__init__(bag)

    def add_topic(self, topic: str, msgtype: str, typestore: Typestore) -> int:
        return self._register(
            self._bag.add_connection(topic, msgtype, typestore=typestore, callerid="/synth")
        )
