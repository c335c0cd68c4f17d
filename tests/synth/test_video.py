"""Video cameras: every kind in every format it is written in, read back with mcap / rosbags and decoded with
PyAV (never with roboflow's readers or decoders), against the ground truth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest

from roboflow.synth import CameraSpec, ImageKind, SynthSpec, stream_times, truth, write_recording

GOP = 10
CASES = [
    ("mcap", "rec.mcap", ImageKind.H264, "foxglove.CompressedVideo"),
    ("mcap", "rec.mcap", ImageKind.AV1, "foxglove.CompressedVideo"),
    ("ros1", "rec.bag", ImageKind.H264, "foxglove_msgs/msg/CompressedVideo"),
    ("ros2-sqlite3", "rec_db3", ImageKind.H265, "foxglove_msgs/msg/CompressedVideo"),
    ("ros2-mcap", "rec_mcap", ImageKind.FFMPEG_H264, "ffmpeg_image_transport_msgs/msg/FFMPEGPacket"),
    ("ros2-sqlite3", "rec_db3", ImageKind.FFMPEG_H265, "ffmpeg_image_transport_msgs/msg/FFMPEGPacket"),
    ("ros1", "rec.bag", ImageKind.IMAGE_H264, "sensor_msgs/msg/CompressedImage"),
]


def _nal_types(codec: str, data: bytes) -> set[int]:
    """NAL unit types of an Annex B packet."""
    parts = data.split(b"\x00\x00\x01")[1:]
    return {part[0] & 0x1F if codec == "h264" else (part[0] >> 1) & 0x3F for part in parts}


@pytest.mark.parametrize(("fmt", "name", "kind", "msgtype"), CASES, ids=[f"{c[0]}-{c[2].value}" for c in CASES])
def test_each_message_is_one_frame_keyframes_carry_parameter_sets(
    tmp_path: Path, reader: Callable, fmt: str, name: str, kind: ImageKind, msgtype: str
) -> None:
    spec = SynthSpec(duration_s=1.0, cameras=(CameraSpec("front", kind, 128, 96, 30.0),), n_joints=2,
                     video_gop=GOP, seed=3)
    manifest = write_recording(tmp_path / name, spec, fmt)
    topic = spec.cameras[0].topic
    assert manifest.topic(topic).msgtype.replace("foxglove_msgs/msg/", "foxglove.") in (
        msgtype, msgtype.replace("foxglove_msgs/msg/", "foxglove."))
    messages = reader(manifest.path, fmt)[topic]
    assert len(messages) == 30
    stamps, logs = stream_times(spec, topic)
    assert [m.stamp for m in messages] == stamps.tolist()
    assert [m.log_time for m in messages] == logs.tolist()
    codec = kind.codec
    assert codec is not None
    decoder = av.CodecContext.create({"av1": "libdav1d"}.get(codec, codec), "r")
    if codec == "av1":
        decoder.options = {"max_frame_delay": "1"}
    for k, message in enumerate(messages):
        data = bytes(message.msg.data)
        if kind is ImageKind.FFMPEG_H264 or kind is ImageKind.FFMPEG_H265:
            assert (message.msg.width, message.msg.height, message.msg.pts) == (128, 96, k)
            assert message.msg.flags == (1 if k % GOP == 0 else 0)
        else:
            assert message.msg.format == {"hevc": "h265"}.get(codec, codec)
        if codec == "h264":
            assert (7 in _nal_types(codec, data) and 8 in _nal_types(codec, data)) == (k % GOP == 0)
            assert (5 in _nal_types(codec, data)) == (k % GOP == 0)
        elif codec == "hevc":
            assert {32, 33, 34} <= _nal_types(codec, data) if k % GOP == 0 else not {32, 33, 34} & _nal_types(codec, data)
        frames = decoder.decode(av.Packet(data))
        assert len(frames) == 1  # no reordering delay: packet k is frame k, at once
        assert truth.decode_pattern(frames[0].to_ndarray(format="rgb24")) == truth.FramePattern(k, 0, False)


def test_unknown_kind_names_the_video_kinds() -> None:
    from roboflow.errors import ConfigError
    from roboflow.synth.spec import parse_cameras

    with pytest.raises(ConfigError, match="h264, h265, av1, ffmpeg_h264"):
        parse_cameras("front:mpeg2")


def test_ros_video_transports_are_refused_for_rrd(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from roboflow.errors import ConfigError

    spec = SynthSpec(duration_s=0.2, cameras=(CameraSpec("front", ImageKind.FFMPEG_H264, 64, 48),))
    with pytest.raises(ConfigError, match=r"cameras front:ffmpeg_h264 are ROS video transports, which rrd"):
        write_recording(tmp_path / "r.rrd", spec)
    assert not list(tmp_path.iterdir())
