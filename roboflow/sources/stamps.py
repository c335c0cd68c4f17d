"""Cheap ``header.stamp`` reads from raw payloads, without decoding the message.

A message whose type starts with a ``std_msgs/Header`` carries its stamp at a fixed offset:
CDR: after the 4-byte encapsulation header, ``int32 sec`` + ``uint32 nanosec``;
ROS1: after ``uint32 seq``, ``uint32 sec`` + ``uint32 nsec``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from roboflow.sources.base import Channel

__all__ = ["StampReader", "stamp_reader"]

StampReader = Callable[[bytes | memoryview], int | None]

_HEADER_TYPES = frozenset({"std_msgs/msg/Header", "std_msgs/Header"})
_CDR_LE = struct.Struct("<iI")
_CDR_BE = struct.Struct(">iI")
_ROS1 = struct.Struct("<II")


def stamp_reader(channel: Channel) -> StampReader | None:
    """A function reading the header stamp (ns) of ``channel``'s payloads, None if there is none."""
    if channel.message_encoding not in ("cdr", "ros1") or channel.schema is None:
        return None
    from roboflow.decode.ros import first_field_type

    if first_field_type(channel) not in _HEADER_TYPES:
        return None
    return _ros1_stamp if channel.message_encoding == "ros1" else _cdr_stamp


def _cdr_stamp(data: bytes | memoryview) -> int | None:
    if len(data) < 12:
        return None
    sec, nanosec = (_CDR_LE if data[1] else _CDR_BE).unpack_from(data, 4)
    return int(sec) * 1_000_000_000 + int(nanosec)


def _ros1_stamp(data: bytes | memoryview) -> int | None:
    if len(data) < 12:
        return None
    sec, nsec = _ROS1.unpack_from(data, 4)
    return int(sec) * 1_000_000_000 + int(nsec)
