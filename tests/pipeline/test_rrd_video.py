"""Rerun ``VideoStream`` cameras (rerun-sdk-written: the codec logged once as static, one h264/AV1 sample per row)
through the starter config and the conversion: each frame decoded from the output MP4 shows its source frame, with
the packets re-encoded and copied as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_readback import frame_times, nearest_index, read_dataset, shown_frames

from roboflow.cli import main
from roboflow.config import MappingType, parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.sources.info import inspect_recording
from roboflow.synth import CameraSpec, SynthSpec, stream_times, write_recording

SPEC = SynthSpec(duration_s=1.5, cameras=(CameraSpec("front", "h264", 64, 48), CameraSpec("wrist", "av1", 64, 48)),
                 n_joints=3, video_gop=10)


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main([*args])
        raise SystemExit(0)
    return int(exit_info.value.code or 0)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_recording(tmp_path_factory.mktemp("rrd-video") / "episode.rrd", SPEC).path


def test_inspect_shows_the_video_streams(recording: Path) -> None:
    topics = {topic.topic: topic for topic in inspect_recording(recording).topics}
    assert topics["/camera/front"].type == "VideoStream"
    for entity, codec in (("/camera/front", "h264"), ("/camera/wrist", "av1")):
        image = topics[entity].image or {}
        assert (image["codec"], image["width"], image["height"], image["keyframes"]) == (codec, 64, 48, 5)


@pytest.mark.parametrize("passthrough", [False, True])
def test_each_frame_shows_its_source_frame(recording: Path, tmp_path: Path, passthrough: bool) -> None:
    config = tmp_path / "starter.toml"
    assert run("init-config", str(recording), "-o", str(config)) == 0
    text = config.read_text()
    cameras = [(m.feature, m.mapping_type) for m in parse_config(text).mappings if m.topics[0] != "/camera/depth"]
    assert cameras[:2] == [("observation.images.front", MappingType.IMAGE),
                           ("observation.images.wrist", MappingType.IMAGE)]
    if passthrough:
        config.write_text(text.replace("[video]\n", "[video]\npassthrough = true\n"))
    out = tmp_path / "out"
    assert run("convert", str(recording), "-c", str(config), "-o", str(out), "--no-progress") == 0
    assert validate_dataset(out) == []
    _, (episode,), provenance = read_dataset(out)
    length = len(episode.rows["frame_index"])
    assert 43 <= length <= 45
    t = frame_times(provenance["episodes"][0]["alignment"][0], length)
    for camera in SPEC.cameras:
        stamps, _ = stream_times(SPEC, camera.topic)
        assert shown_frames(episode.videos[f"observation.images.{camera.name}"]) == nearest_index(stamps, t).tolist()
