"""Every real recording in ../shared/data/recordings reads as its README says (counts, topics, failures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roboflow.errors import SourceError
from roboflow.sources import find_recordings, inspect_recording, open_source

# path -> (format, topic count, message count, {topic: count} spot checks)
READABLE: dict[str, tuple[str, int, int, dict[str, int]]] = {
    "librealsense/single_depth_color_640x480.bag": ("ros1bag", 70, 135, {
        "/device_0/sensor_1/Color_0/image/data": 1, "/device_0/sensor_0/Depth_0/image/data": 2}),
    "rosbagjs/example.bag": ("ros1bag", 9, 8647, {}),
    "rosbagjs/example-bz2.bag": ("ros1bag", 9, 8647, {}),
    "rosbagjs/example-lz4.bag": ("ros1bag", 9, 8647, {}),
    "rosbagjs/example-unsorted-chunks.bag": ("ros1bag", 1, 3, {"foo": 3}),
    "rosbag2/ros1_test_bag_multiple_connections.bag": ("ros1bag", 3, 6, {}),
    "rosbags_rs/test_bag_mcap": ("rosbag2", 94, 188, {"/test/sensor_msgs/image": 2}),
    "rosbags_rs/test_bag_mcap/test_bag_mcap.mcap": ("mcap", 94, 188, {}),
    "rosbags_rs/test_bag_sqlite3": ("rosbag2", 94, 188, {"/test/sensor_msgs/range": 2}),
    "rosbag2/talker_mcap": ("rosbag2", 3, 20, {"/topic": 10, "/rosout": 10, "/parameter_events": 0}),
    "rosbag2/talker_sqlite3": ("rosbag2", 3, 20, {"/topic": 10, "/rosout": 10, "/parameter_events": 0}),
    "rosbag2/multiple_files_mcap_no_metadata": ("rosbag2", 1, 1324 + 1324 + 529, {}),
    "rosbag2/topics_and_service_events_mcap": ("rosbag2", 5, 10, {
        "/test_service1/_service_event": 4, "/test_service2/_service_event": 4, "/events/write_split": 0}),
    "rosbag2/cdr_test_sqlite3_2021": ("rosbag2", 2, 7, {"/test_topic": 3, "/array_topic": 4}),
    "rosbag2/message_compression_no_metadata": ("rosbag2", 3, 380 + 360 + 360 + 27, {}),
    "mcap_conformance/OneMessage.mcap": ("mcap", 1, 1, {}),
    "mcap_conformance/OneMessage-ch-chx-mx-rch-rsh-st-sum.mcap": ("mcap", 1, 1, {}),
    "mcap_conformance/OneSchemalessMessage-ch-chx-mx-st-sum.mcap": ("mcap", 1, 1, {}),
    "mcap_conformance/TenMessages.mcap": ("mcap", 1, 10, {}),
    "mcap_conformance/TenMessages-ch-chx-mx-st-sum.mcap": ("mcap", 1, 10, {}),
    "mcap_conformance/TenMessages-ch-chx-mx-pad-rch-rsh-st-sum.mcap": ("mcap", 1, 10, {}),
    "foxglove_sdk/so100.rrd": ("rrd", 20, 33, {"/__properties": 1, "/so100.urdf/base/shoulder": 1}),
}

# path -> what the error says
FAILING: dict[str, str] = {
    "rosbagjs/empty-file.bag": r"file is empty \(0 bytes\)",
    "rosbagjs/no-messages.bag": "recording holds no messages",
    "keelson/test_empty_303B.mcap": "recording holds no messages",
    "foxglove_sdk/empty.mcap": "recording holds no messages",
    "mcap_conformance/NoData.mcap": "recording holds no messages",
    "mcap_conformance/NoData-st-sum.mcap": "recording holds no messages",
    "mcap_conformance/OneAttachment-ax-st-sum.mcap": "recording holds no messages",
    "mcap_conformance/OneMetadata-mdx-st-sum.mcap": "recording holds no messages",
    "rosbag2/empty_bag_sqlite3": "recording holds no messages",
    "rosbag2/compressed_bag_zstd_file": "recording holds no messages",
    "rosbag2/wrong_rmw_test_mcap": "unsupported serialization format 'wrong_format'",
}


def test_tables_cover_every_recording(recordings: Path) -> None:
    found = {str(path.relative_to(recordings)) for path in find_recordings(recordings)}
    assert found == (set(READABLE) | set(FAILING)) - {"rosbags_rs/test_bag_mcap/test_bag_mcap.mcap"}


@pytest.mark.parametrize("relative", sorted(READABLE))
def test_counts_match_the_readme(recordings: Path, relative: str) -> None:
    fmt, topic_count, message_count, spot = READABLE[relative]
    info = inspect_recording(recordings / relative)
    assert (info.format, len(info.topics), info.message_count) == (fmt, topic_count, message_count)
    counts = {topic.topic: topic.message_count for topic in info.topics}
    assert {topic: counts[topic] for topic in spot} == spot
    assert sum(counts.values()) == message_count


@pytest.mark.parametrize("relative", sorted(FAILING))
def test_empty_corrupt_and_unsupported_recordings_fail_with_path_and_hint(recordings: Path, relative: str) -> None:
    with pytest.raises(SourceError, match=FAILING[relative]) as caught:
        inspect_recording(recordings / relative)
    assert caught.value.path == str(recordings / relative)
    assert caught.value.hint


@pytest.mark.parametrize("relative", [r for r in sorted(READABLE) if READABLE[r][2] < 1000])
def test_reading_every_message_matches_the_statistics_and_is_time_ordered(recordings: Path, relative: str) -> None:
    with open_source(recordings / relative) as source:
        stats = source.statistics()
        times = [message.log_time for message in source.messages()]
    assert times == sorted(times)
    assert len(times) == sum(s.message_count for s in stats.values())


def test_durations_and_image_facts(recordings: Path) -> None:
    realsense = inspect_recording(recordings / "librealsense/single_depth_color_640x480.bag")
    images = {t.topic: t.image for t in realsense.topics if t.image}
    assert images == {
        "/device_0/sensor_1/Color_0/image/data": {"width": 640, "height": 480, "encoding": "rgb8"},
        "/device_0/sensor_0/Depth_0/image/data": {"width": 640, "height": 480, "encoding": "mono16"},
    }
    assert realsense.duration_s == pytest.approx(0.168, abs=0.001)
    assert any(" " in t.topic for t in realsense.topics)  # '/device_0/sensor_0/option/Asic Temperature/value'
    example = inspect_recording(recordings / "rosbagjs/example.bag")
    assert example.duration_s == pytest.approx(21.7, abs=0.01)
    assert {t.topic: t.type for t in example.topics}["/tf"] == "tf/msg/tfMessage"
    synthetic = inspect_recording(recordings / "rosbags_rs/test_bag_mcap")
    compressed = {t.topic: t.image for t in synthetic.topics}["/test/sensor_msgs/compressed_image"]
    error = compressed.pop("error") if compressed else None  # 10 bytes, no image
    assert compressed == {"format": "jpeg", "codec": "jpeg", "width": None, "height": None}
    assert "corrupt JPEG (10 bytes)" in str(error)


def test_unsorted_chunks_come_out_in_time_order(recordings: Path) -> None:
    with open_source(recordings / "rosbagjs/example-unsorted-chunks.bag") as source:
        times = [m.log_time for m in source.messages()]
    assert times == [1_000_000_000, 2_000_000_000, 3_000_000_000]


def test_out_of_order_mcap_log_times_are_sorted(recordings: Path) -> None:
    for name in ("TenMessages.mcap", "TenMessages-ch-chx-mx-st-sum.mcap"):
        with open_source(recordings / "mcap_conformance" / name) as source:
            assert [m.log_time for m in source.messages()] == [0, 1, 2, 3, 3, 4, 5, 7, 8, 9]


def test_several_connections_per_topic_are_separate_channels(recordings: Path) -> None:
    with open_source(recordings / "rosbag2/ros1_test_bag_multiple_connections.bag") as source:
        topics = [channel.topic for channel in source.channels]
        assert len(topics) > len(set(topics))
        by_topic: dict[str, int] = {}
        for message in source.messages(topics=["/test_topic"]):
            by_topic[message.topic] = by_topic.get(message.topic, 0) + 1
    assert set(by_topic) == {"/test_topic"}


def test_qos_mismatch_never_yields_zero_messages(recordings: Path) -> None:
    """rosbags' Reader yields nothing on these bags; reading the storage files directly does not."""
    for relative, count in [("rosbag2/talker_mcap", 20), ("rosbag2/talker_sqlite3", 20),
                            ("rosbag2/cdr_test_sqlite3_2021", 7)]:
        with open_source(recordings / relative) as source:
            assert sum(1 for _ in source.messages()) == count
