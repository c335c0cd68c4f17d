"""What the writers built on rosbags' ROS1 and ROS2 bag writers share."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rosbags import rosbag1, rosbag2
from rosbags.interfaces import Connection

__all__ = ["RosbagsWriter"]

_Bag = TypeVar("_Bag", rosbag1.Writer, rosbag2.Writer)


class RosbagsWriter(Generic[_Bag]):
    """Opens a configured rosbags writer; numbers its connections as channels; writes, closes, aborts.

    A subclass configures the bag (compression, storage) before handing it here, and registers topics in
    ``add_topic`` with :meth:`_register`.
    """

    protobuf_video: ClassVar[bool] = False

    def __init__(self, bag: _Bag) -> None:
        bag.open()
        self._bag: _Bag = bag
        self._connections: list[Connection] = []

    def _register(self, connection: Connection) -> int:
        """Number a new connection; returns its channel."""
        self._connections.append(connection)
        return len(self._connections) - 1

    def write(self, channel: int, log_time_ns: int, data: memoryview) -> None:
        self._bag.write(self._connections[channel], log_time_ns, data)

    def close(self) -> None:
        self._bag.close()

    def abort(self) -> None:
        self._bag.abort()
