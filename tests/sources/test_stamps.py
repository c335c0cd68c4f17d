"""Header stamps read from raw payloads without decoding."""

from __future__ import annotations

import numpy as np

from roboflow.sources.base import Channel, Schema
from roboflow.sources.stamps import stamp_reader

from .builders import STORE, image_msg, ros2msg


def _channel(typename: str, encoding: str = "cdr", data: bytes | None = None) -> Channel:
    definition = ros2msg(typename).encode() if data is None else data
    return Channel(1, "/x", encoding, Schema(typename, "ros2msg" if definition else "", definition))


def test_cdr_stamp_of_a_header_first_type() -> None:
    reader = stamp_reader(_channel("sensor_msgs/msg/Image"))
    assert reader is not None
    assert reader(image_msg(1_700_000_123_000_000_456)) == 1_700_000_123_000_000_456


def test_types_without_a_leading_header_have_no_stamp() -> None:
    assert stamp_reader(_channel("std_msgs/msg/String")) is None
    assert stamp_reader(Channel(1, "/x", "json", Schema("X", "jsonschema", b"{}"))) is None
    assert stamp_reader(Channel(1, "/x", "cdr", None)) is None


def test_builtin_types_are_used_when_the_recording_stores_no_definition() -> None:
    reader = stamp_reader(_channel("sensor_msgs/msg/Image", data=b""))
    assert reader is not None and reader(image_msg(5_000_000_007)) == 5_000_000_007


def test_big_endian_cdr() -> None:
    types = STORE.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=12, nanosec=34), frame_id="f")
    image = types["sensor_msgs/msg/Image"](header=header, height=0, width=0, encoding="", is_bigendian=0, step=0,
                                           data=np.zeros(0, np.uint8))
    data = bytes(STORE.serialize_cdr(image, "sensor_msgs/msg/Image", little_endian=False))
    assert data[1] == 0
    assert stamp_reader(_channel("sensor_msgs/msg/Image"))(data) == 12_000_000_034  # type: ignore[misc]
