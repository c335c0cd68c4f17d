"""ROS1 bag v2.0 files, via rosbags (uncompressed, bz2 or lz4 chunks)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rosbags.interfaces import Connection
from rosbags.rosbag1 import Writer
from rosbags.typesys.store import Typestore

__all__ = ["Ros1Writer"]

_COMPRESSION = {"none": None, "bz2": Writer.CompressionFormat.BZ2, "lz4": Writer.CompressionFormat.LZ4}


class Ros1Writer:
    """Writes a ROS1 bag (1 MiB chunks) with the connection headers of ``rosbags``."""

    ros_version: ClassVar[int] = 1
    compressions: ClassVar[tuple[str, ...]] = tuple(_COMPRESSION)

    def __init__(self, path: Path, compression: str) -> None:
        self._bag = Writer(path)
        fmt = _COMPRESSION[compression]
        if fmt is not None:
            self._bag.set_compression(fmt)
        self._bag.open()
        self._connections: list[Connection] = []

    def add_topic(self, topic: str, msgtype: str, typestore: Typestore) -> int:
        self._connections.append(
            self._bag.add_connection(topic, msgtype, typestore=typestore, callerid="/synth")
        )
        return len(self._connections) - 1

    def write(self, channel: int, log_time_ns: int, data: memoryview) -> None:
        self._bag.write(self._connections[channel], log_time_ns, data)

    def close(self) -> None:
        self._bag.close()

    def abort(self) -> None:
        self._bag.abort()
