"""ROS2 bag directories (metadata.yaml + one ``.db3`` or ``.mcap`` file), via rosbags."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.typesys.store import Typestore

from roboflow.synth.rosbags_writer import RosbagsWriter

__all__ = ["Ros2McapWriter", "Ros2SqliteWriter"]

#: metadata.yaml version written (Jazzy's).
BAG_VERSION: Literal[9] = 9
_MODES = {
    "none": CompressionMode.NONE,
    "zstd": CompressionMode.STORAGE,  # zstd-compressed MCAP chunks (mcap storage only)
    "zstd-message": CompressionMode.MESSAGE,
    "zstd-file": CompressionMode.FILE,
}


class _Ros2Writer(RosbagsWriter[Writer]):
    ros_version: ClassVar[int] = 2
    compressions: ClassVar[tuple[str, ...]]
    storage: ClassVar[StoragePlugin]

    def __init__(self, path: Path, compression: str) -> None:
        bag = Writer(path, version=BAG_VERSION, storage_plugin=self.storage)
        bag.set_compression(_MODES[compression], CompressionFormat.ZSTD)
        super().__init__(bag)

    def add_topic(self, topic: str, msgtype: str, typestore: Typestore) -> int:
        return self._register(self._bag.add_connection(topic, msgtype, typestore=typestore))


class Ros2SqliteWriter(_Ros2Writer):
    """A rosbag2 directory with sqlite3 storage (uncompressed, or zstd per message or per file)."""

    compressions = ("none", "zstd-message", "zstd-file")
    storage = StoragePlugin.SQLITE3


class Ros2McapWriter(_Ros2Writer):
    """A rosbag2 directory with mcap storage (zstd chunks by default)."""

    compressions = ("zstd", "none", "zstd-message", "zstd-file")
    storage = StoragePlugin.MCAP
