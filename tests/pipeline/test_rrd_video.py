"""Rerun ``VideoStream`` cameras (rerun-sdk-written: the codec logged once as static, one h264/AV1 sample per row)
through the starter config and the conversion: each frame decoded from the output MP4 shows its source frame, with
the packets re-encoded and copied as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_main import run
from pipeline_readback import frame_times, nearest_index, read_dataset, shown_frames

from roboflow.config import MappingType, parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.sources.info import inspect_recording
from roboflow.synth import CameraSpec, SynthSpec, stream_times, write_recording

SPEC = SynthSpec(duration_s=1.5, cameras=(CameraSpec("front", "h264", 64, 48), CameraSpec("wrist", "av1", 64, 48)),
                 n_joints=3, video_gop=10)


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


def _asset_rrd(path: Path, order: list[int]) -> Path:
    """An MP4 of 30 pattern frames (h264, a keyframe every 10) logged as a static ``AssetVideo`` on ``/video``;
    row ``k`` (timeline ``time``, 10 Hz) a ``VideoFrameReference`` to frame ``order[k]`` by its timestamp."""
    import io

    import av
    import rerun as rr

    from roboflow.synth.truth import render_frame

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30, options={"g": "10", "bf": "0", "preset": "ultrafast",
                                                                  "crf": "10"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(30):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(render_frame(k, 64, 48), format="rgb24")))
        container.mux(stream.encode(None))
    recording = rr.RecordingStream("roboflow-tests", recording_id=path.name)
    recording.save(path)
    asset = rr.AssetVideo(contents=buffer.getvalue(), media_type="video/mp4")
    recording.log("/video", asset, static=True)
    stamps = asset.read_frame_timestamps_nanos()
    for row, frame in enumerate(order):
        recording.set_time("time", timestamp=1.7e9 + row / 10)
        recording.log("/video", rr.VideoFrameReference(nanoseconds=int(stamps[frame])))
    recording.flush()
    recording.disconnect()
    return path


def test_video_frame_references_show_the_asset_frame(tmp_path: Path) -> None:
    order = [0, 1, 2, 9, 10, 11, 29, 28, 5, 5, 6, 20, 3, 15, 16, 17]  # forward, back across keyframes, repeated
    recording = _asset_rrd(tmp_path / "asset.rrd", order)
    assert {t.topic: t.type for t in inspect_recording(recording).topics}["/video"] == "AssetVideo+VideoFrameReference"
    config = tmp_path / "starter.toml"
    assert run("init-config", str(recording), "--fps", "10", "-o", str(config)) == 0
    assert [m.feature for m in parse_config(config.read_text()).mappings] == ["observation.images.camera"]
    out = tmp_path / "out"
    assert run("convert", str(recording), "-c", str(config), "-o", str(out), "--no-progress") == 0
    assert validate_dataset(out) == []
    _, (episode,), _ = read_dataset(out)
    assert shown_frames(episode.videos["observation.images.camera"]) == order
