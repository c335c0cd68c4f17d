"""``roboflow inspect`` on video camera topics: codec, size, rate, keyframe spacing, messages before the first
keyframe (a recording that starts mid-GOP), for protobuf MCAP, ROS 1 bags and rosbag2 FFMPEGPacket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline.video_recordings import rewrite_video

from roboflow.cli import main
from roboflow.synth import CameraSpec, ImageKind, SynthSpec, write_recording


def _inspect(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    try:
        main(["inspect", *args])
    except SystemExit as exit_:
        assert not exit_.code
    return capsys.readouterr().out


def test_video_topics_show_codec_size_rate_and_keyframes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = SynthSpec(duration_s=2.0, n_joints=2, video_gop=12, cameras=(
        CameraSpec("front", ImageKind.H264, 128, 96, 30.0), CameraSpec("side", ImageKind.H265, 64, 48, 15.0)))
    write_recording(tmp_path / "full.mcap", spec)
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", "/front/video", lambda k, p: None if k < 5 else p)
    (info,) = json.loads(_inspect(capsys, str(tmp_path / "rec.mcap"), "--json"))
    facts = {t["topic"]: t["image"] for t in info["topics"]}
    assert facts["/front/video"] == {
        "format": "h264", "codec": "h264", "width": 128, "height": 96, "fps": pytest.approx(30, abs=0.3),
        "keyframes": 4, "keyframe_interval": 12, "keyframe_interval_max": 12, "before_first_keyframe": 7}
    assert facts["/side/video"]["codec"] == "hevc" and facts["/side/video"]["keyframes"] == 3
    assert facts["/side/video"]["before_first_keyframe"] == 0 and facts["/side/video"]["width"] == 64
    text = _inspect(capsys, str(tmp_path / "rec.mcap"))
    assert "[128x96 h264 video, keyframe every 12 (max 12), 7 before the first keyframe]" in text


@pytest.mark.parametrize(("fmt", "name", "kind"), [("ros1", "rec.bag", ImageKind.IMAGE_H264),
                                                   ("ros2-sqlite3", "rec", ImageKind.FFMPEG_H264)])
def test_ros_video_types(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str,
                         kind: ImageKind) -> None:
    spec = SynthSpec(duration_s=1.0, n_joints=2, video_gop=10, cameras=(CameraSpec("cam", kind, 64, 48, 30.0),))
    write_recording(tmp_path / name, spec, fmt)
    (info,) = json.loads(_inspect(capsys, str(tmp_path / name), "--json"))
    (facts,) = [t["image"] for t in info["topics"] if t["image"]]
    assert (facts["codec"], facts["width"], facts["keyframes"], facts["keyframe_interval"]) == ("h264", 64, 3, 10)
