"""Ros1BagSource on generated bags: compression variants, custom types, unindexed and truncated bags."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from rosbags.rosbag1 import Writer

from roboflow.errors import SourceError
from roboflow.sources.ros1 import Ros1BagSource

from .builders import BASE_NS, CUSTOM_DEF, CUSTOM_TYPE, ROS1_STORE, write_ros1_bag


@pytest.mark.parametrize("compression", ["none", "bz2", "lz4"])
def test_compression_variants_custom_types_and_connections(tmp_path: Path, compression: str) -> None:
    with Ros1BagSource(write_ros1_bag(tmp_path / "x.bag", compression)) as source:
        channels = source.channels
        read = list(source.messages())
        stats = source.statistics()
    assert sorted(ch.topic for ch in channels) == ["/chatter", "/chatter", "/gripper"]
    assert {ch.metadata.get("callerid") for ch in channels if ch.topic == "/chatter"} == {"/talker0", "/talker1"}
    (gripper,) = [ch for ch in channels if ch.topic == "/gripper"]
    assert gripper.message_encoding == "ros1"
    assert gripper.schema is not None and gripper.schema.name == CUSTOM_TYPE and gripper.schema.encoding == "ros1msg"
    assert CUSTOM_DEF.splitlines()[1] in gripper.schema.data.decode()  # definition from the connection header
    assert len(read) == 10 and [m.log_time for m in read] == sorted(m.log_time for m in read)
    assert sum(s.message_count for s in stats.values()) == 10
    stamps = [m.header_stamp for m in read if m.topic == "/gripper"]
    assert stamps == [BASE_NS + k * 1000 - 10 for k in range(5)]
    assert all(m.header_stamp is None for m in read if m.topic == "/chatter")


def test_topic_and_time_filters(tmp_path: Path) -> None:
    with Ros1BagSource(write_ros1_bag(tmp_path / "x.bag", "lz4")) as source:
        chatter = list(source.messages(topics=["/chatter"], start=BASE_NS + 1000, stop=BASE_NS + 4000))
        assert list(source.messages(topics=["/missing"])) == []
    assert [m.log_time for m in chatter] == [BASE_NS + 1000, BASE_NS + 2000, BASE_NS + 3000]
    assert {m.channel.metadata["callerid"] for m in chatter} == {"/talker0", "/talker1"}


def _set_index_pos(data: bytes, value: int) -> bytes:
    """Rewrite the bag header's index_pos field (as an interrupted recording leaves it: 0)."""
    offset = data.index(b"index_pos=") + len(b"index_pos=")
    return data[:offset] + struct.pack("<Q", value) + data[offset + 8:]


def test_unindexed_bag_is_scanned_and_reads_the_same(tmp_path: Path) -> None:
    path = write_ros1_bag(tmp_path / "x.bag", "bz2", count=40)
    with Ros1BagSource(path) as source:
        indexed = [(m.topic, m.log_time, bytes(m.data)) for m in source.messages()]
    unindexed = tmp_path / "unindexed.bag"
    unindexed.write_bytes(_set_index_pos(path.read_bytes(), 0))
    with Ros1BagSource(unindexed) as source:
        assert [(m.topic, m.log_time, bytes(m.data)) for m in source.messages()] == indexed
        assert sum(s.message_count for s in source.statistics().values()) == 80


def test_truncated_bag_yields_complete_chunks_then_fails(tmp_path: Path) -> None:
    path = tmp_path / "x.bag"
    writer = Writer(path)
    writer.set_compression(Writer.CompressionFormat.LZ4)
    writer.chunk_threshold = 256  # many small chunks
    with writer:
        connection = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=ROS1_STORE)
        for k in range(100):
            text = ROS1_STORE.types["std_msgs/msg/String"](data=f"message number {k:04d}")
            writer.write(connection, BASE_NS + k, bytes(ROS1_STORE.serialize_ros1(text, "std_msgs/msg/String")))
    data = path.read_bytes()
    cut = tmp_path / "cut.bag"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with Ros1BagSource(cut) as source:
        read = []
        with pytest.raises(SourceError, match=r"damaged or truncated at byte \d+") as caught:
            read.extend(source.messages())  # keeps what was yielded before the error
        assert 20 < len(read) < 100
        assert f"{len(read)} messages before the damage are readable" in str(caught.value)
        assert [m.log_time for m in read] == [BASE_NS + k for k in range(len(read))]
        with pytest.raises(SourceError, match=f"{len(read)} messages before the damage"):
            source.statistics()


def test_bad_magic_version_and_empty(tmp_path: Path) -> None:
    (tmp_path / "v12.bag").write_bytes(b"#ROSBAG V1.2\n" + b"\0" * 64)
    (tmp_path / "other.bag").write_bytes(b"PK\x03\x04 a zip file")
    (tmp_path / "empty.bag").write_bytes(b"")
    with pytest.raises(SourceError, match="ROS bag version 1.2 is not supported"):
        Ros1BagSource(tmp_path / "v12.bag")
    with pytest.raises(SourceError, match="not a ROS1 bag"):
        Ros1BagSource(tmp_path / "other.bag")
    with pytest.raises(SourceError, match=r"file is empty \(0 bytes\)"):
        Ros1BagSource(tmp_path / "empty.bag")


def test_stream_input(tmp_path: Path) -> None:
    data = write_ros1_bag(tmp_path / "x.bag", "lz4").read_bytes()
    stream = io.BytesIO(data)
    with Ros1BagSource(stream, name="s3://bucket/x.bag") as source:
        assert source.path == "s3://bucket/x.bag"
        assert len(list(source.messages(topics=["/gripper"]))) == 5
    assert not stream.closed
