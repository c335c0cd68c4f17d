"""ROS1/ROS2 decoding from embedded definitions (ros1msg, ros2msg, ros2idl), with built-in fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rosbags.typesys import Stores, get_types_from_idl, get_typestore

from roboflow.decode import decoder_for, get_field
from roboflow.decode.ros import DISTRO_KEY
from roboflow.errors import SourceError
from roboflow.sources import open_source
from roboflow.sources.base import Channel, Schema

HUMBLE = get_typestore(Stores.ROS2_HUMBLE)


def _first(path: Path, topic: str) -> tuple[Channel, bytes]:
    with open_source(path) as source:
        message = next(source.messages(topics=[topic]))
    return message.channel, bytes(message.data)


def _image_payload() -> bytes:
    types = HUMBLE.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=2), frame_id="c")
    image = types["sensor_msgs/msg/Image"](header=header, height=48, width=64, encoding="rgb8", is_bigendian=0,
                                           step=192, data=np.arange(64 * 48 * 3, dtype=np.uint32).astype(np.uint8))
    return bytes(HUMBLE.serialize_cdr(image, "sensor_msgs/msg/Image"))


def test_ros2msg_image_pixels_are_a_view_of_the_payload() -> None:
    definition = HUMBLE.generate_msgdef("sensor_msgs/msg/Image", ros_version=2)[0].encode()
    channel = Channel(1, "/cam", "cdr", Schema("sensor_msgs/msg/Image", "ros2msg", definition))
    payload = _image_payload()
    message = decoder_for(channel)(payload)
    assert (message.width, message.height, message.encoding) == (64, 48, "rgb8")  # type: ignore[attr-defined]
    pixels = message.data  # type: ignore[attr-defined]
    assert isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.size == 64 * 48 * 3
    assert np.shares_memory(pixels, np.frombuffer(payload, np.uint8))  # no copy, let alone per element
    assert get_field(message, "header.stamp.nanosec") == 2
    assert decoder_for(channel) is decoder_for(channel)  # cached per channel


def test_ros2idl_definitions() -> None:
    idl = ("module roboflow_test { module msg { struct Pose2D { double x; double y; string name; }; }; };\n")
    data = f"{'=' * 80}\nIDL: roboflow_test/msg/Pose2D\n{idl}".encode()
    store = get_typestore(Stores.EMPTY)
    store.register(get_types_from_idl(idl))
    payload = bytes(store.serialize_cdr(store.types["roboflow_test/msg/Pose2D"](x=1.5, y=-2.0, name="p"), "roboflow_test/msg/Pose2D"))
    channel = Channel(1, "/pose", "cdr", Schema("roboflow_test/msg/Pose2D", "ros2idl", data))
    message = decoder_for(channel)(payload)
    assert (message.x, message.y, message.name) == (1.5, -2.0, "p")  # type: ignore[attr-defined]


def test_ros1msg_custom_type_from_the_connection_header(recordings: Path) -> None:
    bag = recordings / "librealsense/single_depth_color_640x480.bag"
    with open_source(bag) as source:
        info = next(ch for ch in source.channels if ch.schema and ch.schema.name == "realsense_msgs/msg/StreamInfo")
        message = next(source.messages(topics=[info.topic]))
        depth = next(source.messages(topics=["/device_0/sensor_0/Depth_0/image/data"]))
    stream_info = decoder_for(info)(message.data)
    assert stream_info.fps > 0 and isinstance(stream_info.encoding, str)  # type: ignore[attr-defined]
    image = decoder_for(depth.channel)(depth.data)
    assert image.encoding == "mono16" and image.data.size == 640 * 480 * 2  # type: ignore[attr-defined]
    assert image.header.seq >= 0  # ROS1 header  # type: ignore[attr-defined]


def test_embedded_definitions_win_over_built_in_ones(recordings: Path) -> None:
    """rosbags_rs wrote Range without Jazzy's 'variance': the stored definition decodes it, the latest store cannot."""
    channel, payload = _first(recordings / "rosbags_rs/test_bag_mcap/test_bag_mcap.mcap", "/test/sensor_msgs/range")
    message = decoder_for(channel)(payload)
    assert not hasattr(message, "variance") and message.max_range >= message.min_range  # type: ignore[attr-defined]
    latest = get_typestore(Stores.LATEST)
    with pytest.raises(Exception):  # noqa: B017 - rosbags' own error type
        latest.deserialize_cdr(payload, "sensor_msgs/msg/Range")


def test_recording_without_definitions_uses_the_hinted_distro() -> None:
    types = HUMBLE.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=3, nanosec=4), frame_id="r")
    rng = types["sensor_msgs/msg/Range"](header=header, radiation_type=0, field_of_view=0.1, min_range=0.2,
                                         max_range=4.0, range=1.25)
    payload = bytes(HUMBLE.serialize_cdr(rng, "sensor_msgs/msg/Range"))
    humble = Channel(1, "/range", "cdr", Schema("sensor_msgs/msg/Range", "", b""), {DISTRO_KEY: "humble"})
    jazzy = Channel(1, "/range", "cdr", Schema("sensor_msgs/msg/Range", "", b""), {DISTRO_KEY: "jazzy"})
    assert decoder_for(humble)(payload).range == 1.25  # type: ignore[attr-defined]
    with pytest.raises(SourceError, match="cannot decode a message on /range as sensor_msgs/msg/Range"):
        decoder_for(jazzy)(payload)


def test_placeholder_definitions_fall_back_to_built_in_types(recordings: Path) -> None:
    """talker_sqlite3 stores 'uint8 level' as the whole definition of rcl_interfaces/Log."""
    channel, payload = _first(recordings / "rosbag2/talker_sqlite3", "/rosout")
    assert channel.schema is not None and channel.schema.data == b"uint8 level"
    log = decoder_for(channel)(payload)
    assert log.name and isinstance(log.msg, str)  # type: ignore[attr-defined]
    topic, text = _first(recordings / "rosbag2/talker_sqlite3", "/topic")
    assert decoder_for(topic)(text).data == "Hello, world! 0"  # type: ignore[attr-defined]


def test_service_events_are_decoded_from_the_srv_definition(recordings: Path) -> None:
    channel, payload = _first(recordings / "rosbag2/topics_and_service_events_mcap", "/test_service1/_service_event")
    event = decoder_for(channel)(payload)
    assert len(event.request) + len(event.response) == 1  # type: ignore[attr-defined]
    assert event.info.event_type in (0, 1, 2, 3)  # type: ignore[attr-defined]


def test_message_compressed_payloads_decode(recordings: Path) -> None:
    channel, payload = _first(recordings / "rosbag2/message_compression_no_metadata", "/topic")
    assert decoder_for(channel)(payload).data  # type: ignore[attr-defined]


def test_undecodable_and_undecodable_in_principle(recordings: Path) -> None:
    definition = HUMBLE.generate_msgdef("sensor_msgs/msg/Image", ros_version=2)[0].encode()
    channel = Channel(1, "/cam", "cdr", Schema("sensor_msgs/msg/Image", "ros2msg", definition))
    with pytest.raises(SourceError, match="cannot decode a message on /cam") as caught:
        decoder_for(channel)(_image_payload()[:40])
    assert "damaged" in (caught.value.hint or "")
    unknown, _ = _first(recordings / "rosbag2/cdr_test_sqlite3_2021", "/test_topic")
    with pytest.raises(SourceError, match="no definition of test_msgs/msg/BasicTypes"):
        decoder_for(unknown)
    with pytest.raises(SourceError, match="unsupported message encoding 'wrong_format'"):
        decoder_for(Channel(1, "/x", "wrong_format", Schema("test_msgs/msg/Arrays", "ros2msg", b"int32 a")))
    with pytest.raises(SourceError, match="schemaless 'cdr' channel"):
        decoder_for(Channel(1, "/x", "cdr", None))
