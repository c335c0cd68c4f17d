"""Video camera topics through the whole conversion: each dataset frame shows its source frame (output videos
decoded with PyAV, frame patterns read back), at the topic's rate and at half of it, from every message type,
from a recording that starts mid-GOP, with a corrupt packet, and under --strict."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from pipeline_readback import frame_times, nearest_index, read_dataset, shown_frames
from video_recordings import rewrite_video

from roboflow.config import parse_config
from roboflow.coordination.records import BatchSpec
from roboflow.errors import SourceError
from roboflow.fleet.worker import convert_context
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import ConvertContext, RunOptions, convert_recording, run_local
from roboflow.pipeline.scan import WorkItem
from roboflow.synth import CameraSpec, ImageKind, SynthSpec, stream_times, write_recording

GOP = 10


def _spec(*kinds: ImageKind, duration: float = 1.5) -> SynthSpec:
    cameras = tuple(CameraSpec(f"cam{i}", kind, 128, 96, 30.0) for i, kind in enumerate(kinds))
    return SynthSpec(duration_s=duration, cameras=cameras, n_joints=3, video_gop=GOP, seed=5)


def _config(spec: SynthSpec, fps: int = 30) -> str:
    cameras = "".join(f"""
[[mappings]]
topic = "{camera.topic}"
feature = "observation.images.{camera.name}"
mapping_type = "image"
""" for camera in spec.cameras)
    return f"""
[dataset]
name = "video"
fps = {fps}
robot_type = "synthbot"
task = "look"
{cameras}
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"

[video]
codec = "libx264"
preset = "ultrafast"
crf = 18
"""


def _convert(recording: Path, spec: SynthSpec, out: Path, fps: int = 30) -> tuple[dict, object, dict]:
    report = run_local([str(recording)], parse_config(_config(spec, fps)), out, RunOptions())
    assert report.exit_status == 0, report.failures
    assert validate_dataset(out) == []
    info, (episode,), provenance = read_dataset(out)
    (alignment,) = provenance["episodes"][0]["alignment"]
    return info, episode, alignment


def _expected(spec: SynthSpec, topic: str, alignment: dict, length: int, skip: int = 0) -> list[int]:
    """Source frame of each dataset frame: the nearest message by log time among those that yield an image."""
    _, logs = stream_times(spec, topic)
    t = frame_times(alignment, length)
    return (nearest_index(logs[skip:], t) + skip).tolist()


CASES = [("mcap", "rec.mcap", ImageKind.H264), ("ros1", "rec.bag", ImageKind.H265),
         ("ros2-sqlite3", "rec", ImageKind.FFMPEG_H264), ("ros1", "rec.bag", ImageKind.IMAGE_H264),
         ("ros2-mcap", "rec", ImageKind.AV1)]


@pytest.mark.parametrize(("fmt", "name", "kind"), CASES, ids=[f"{c[0]}-{c[2].value}" for c in CASES])
def test_every_dataset_frame_shows_its_source_frame(tmp_path: Path, fmt: str, name: str, kind: ImageKind) -> None:
    spec = _spec(kind)
    write_recording(tmp_path / name, spec, fmt)
    info, episode, alignment = _convert(tmp_path / name, spec, tmp_path / "out")
    topic = spec.cameras[0].topic
    length = len(episode.rows["index"])
    assert length == alignment["frames_written"] >= 40 and alignment["frames_dropped"] == 0
    assert info["features"]["observation.images.cam0"]["shape"] == [96, 128, 3]
    assert shown_frames(episode.videos["observation.images.cam0"]) == _expected(spec, topic, alignment, length)
    assert alignment["video"][topic] == {"codec": kind.codec, "packets": 45, "frames": 45, "before_keyframe": 0,
                                         "corrupt": 0, "after_corrupt": 0}


def test_half_rate_takes_every_other_packet_and_decodes_them_all(tmp_path: Path) -> None:
    spec = _spec(ImageKind.H264, ImageKind.H264, duration=2.0)
    write_recording(tmp_path / "rec.mcap", spec)
    _, episode, alignment = _convert(tmp_path / "rec.mcap", spec, tmp_path / "out", fps=15)
    length = len(episode.rows["index"])
    assert length >= 28
    for camera in spec.cameras:
        shown = shown_frames(episode.videos[f"observation.images.{camera.name}"])
        assert shown == _expected(spec, camera.topic, alignment, length)
        assert np.all(np.diff(shown) == 2)  # every other packet: delta frames decoded from the ones between
        assert alignment["video"][camera.topic]["packets"] == alignment["video"][camera.topic]["frames"] == 60


def test_a_recording_that_starts_mid_gop_begins_at_its_first_keyframe(tmp_path: Path) -> None:
    spec = _spec(ImageKind.H264)
    write_recording(tmp_path / "full.mcap", spec)
    topic = spec.cameras[0].topic
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", topic, lambda k, p: None if k < 4 else p)
    _, episode, alignment = _convert(tmp_path / "rec.mcap", spec, tmp_path / "out")
    length = len(episode.rows["index"])
    _, logs = stream_times(spec, topic)
    assert alignment["start_ns"] == logs[GOP]  # packets 4..9 yield no image: the timeline starts at packet 10
    assert shown_frames(episode.videos["observation.images.cam0"]) == _expected(spec, topic, alignment, length, GOP)
    assert alignment["video"][topic]["before_keyframe"] == GOP - 4
    assert alignment["video"][topic]["frames"] == 45 - GOP


def _garble(k: int, packet: bytes) -> bytes:
    return packet if k != 13 else packet[:8] + bytes(np.random.default_rng(0).integers(0, 256, len(packet) - 8,
                                                                                     dtype=np.uint8))


def test_a_corrupt_packet_is_one_warning_and_its_gop_rest_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = _spec(ImageKind.H264)
    write_recording(tmp_path / "full.mcap", spec)
    topic = spec.cameras[0].topic
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", topic, _garble)
    with caplog.at_level(logging.WARNING):
        _, episode, alignment = _convert(tmp_path / "rec.mcap", spec, tmp_path / "out")
    _, logs = stream_times(spec, topic)
    warnings = [r.getMessage() for r in caplog.records if "corrupt video packet" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith(f"{topic} at t={logs[13] / 1e9:.6f} s: corrupt video packet")
    counts = alignment["video"][topic]
    assert counts["corrupt"] == 1 and counts["after_corrupt"] == 20 - 14 and counts["frames"] == 45 - 7
    shown = shown_frames(episode.videos["observation.images.cam0"])
    assert not set(shown) & set(range(13, 20))  # frames 13-19 are absent: their neighbours stand in (nearest)
    length = len(episode.rows["index"])
    present = np.r_[0:13, 20:45]
    t = frame_times(alignment, length)
    assert shown == present[nearest_index(logs[present], t)].tolist()


def test_strict_makes_a_corrupt_packet_an_error(tmp_path: Path) -> None:
    spec = _spec(ImageKind.H264)
    write_recording(tmp_path / "full.mcap", spec)
    topic = spec.cameras[0].topic
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", topic, _garble)
    context = ConvertContext(parse_config(_config(spec)), tmp_path / "staging", strict=True)
    item = WorkItem(index=0, url=str(tmp_path / "rec.mcap"), key="rec")
    with pytest.raises(SourceError, match=rf"{topic} at t=\d+\.\d+ s: corrupt video packet"):
        convert_recording(item, context)


@pytest.mark.parametrize("strict", [True, False])
def test_a_fleet_worker_converts_as_strictly_as_the_batch_was_submitted(tmp_path: Path, strict: bool) -> None:
    spec = _spec(ImageKind.H264)
    write_recording(tmp_path / "full.mcap", spec)
    topic = spec.cameras[0].topic
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", topic, _garble)
    batch = BatchSpec("b1", (str(tmp_path / "rec.mcap"),), str(tmp_path / "out"), config_text=_config(spec),
                      limits={"strict": True} if strict else {})
    context = convert_context(batch, tmp_path / "staging")
    item = WorkItem(index=0, url=str(tmp_path / "rec.mcap"), key="rec")
    if strict:
        with pytest.raises(SourceError, match=rf"{topic} at t=\d+\.\d+ s: corrupt video packet"):
            convert_recording(item, context)
    else:
        (alignment,) = convert_recording(item, context).episodes
        assert alignment["video"][topic]["corrupt"] == 1


def test_json_compressed_video_converts_like_protobuf(tmp_path: Path) -> None:
    spec = _spec(ImageKind.H264)
    write_recording(tmp_path / "full.mcap", spec)
    topic = spec.cameras[0].topic
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", topic, lambda k, p: p, as_json=True)
    _, episode, alignment = _convert(tmp_path / "rec.mcap", spec, tmp_path / "out")
    length = len(episode.rows["index"])
    assert shown_frames(episode.videos["observation.images.cam0"]) == _expected(spec, topic, alignment, length)
