"""``[video] passthrough``: video camera packets copied into the dataset's mp4 without re-encoding when the
dataset frames are the topic's consecutive messages, decode + encode for the episodes where they are not (with
the reason in the provenance), stats from decoded frames, merge by stream copy and validate."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import av
import numpy as np
import pytest
from pipeline_readback import frame_times, nearest_index, read_dataset, shown_frames
from video_recordings import rewrite_video

from roboflow.config import parse_config
from roboflow.lerobot.merge import merge_datasets
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local
from roboflow.synth import CameraSpec, ImageKind, SynthSpec, stream_times, write_recording

GOP = 10


def _config(camera: CameraSpec, fps: int = 30, mapping: str = "", video: str = "passthrough = true") -> str:
    return f"""
[dataset]
name = "copy"
fps = {fps}
robot_type = "synthbot"
task = "look"
[[mappings]]
topic = "{camera.topic}"
feature = "observation.images.cam"
mapping_type = "image"
{mapping}
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"
[video]
codec = "libx264"
preset = "ultrafast"
{video}
"""


def _spec(kind: ImageKind = ImageKind.H264, seed: int = 5, duration: float = 1.5) -> SynthSpec:
    # the camera starts first, so the first dataset frame is its first message, a keyframe
    return SynthSpec(duration_s=duration, cameras=(CameraSpec("cam", kind, 128, 96, 30.0),), n_joints=2,
                     video_gop=GOP, seed=seed, start_time_ns=1_710_000_000_000_000_000)


def _source_frames(path: Path, spec: SynthSpec) -> list[np.ndarray]:
    """The recording's frames decoded straight from its packets (what a copy must decode to, bit for bit)."""
    out: list[np.ndarray] = []
    rewrite_video(path, path.with_name("copy.mcap"), spec.cameras[0].topic, lambda k, p: out.append(p) or p)
    codec = spec.cameras[0].kind.codec
    decoder = av.CodecContext.create({"av1": "libdav1d"}.get(codec or "", codec or ""), "r")
    frames = [frame for packet in out for frame in decoder.decode(av.Packet(packet))] + decoder.decode(None)
    return [frame.to_ndarray(format="rgb24") for frame in frames]


def _convert(recordings: list[Path], config: str, out: Path) -> tuple[dict, list, dict]:
    report = run_local([str(r) for r in recordings], parse_config(config), out, RunOptions())
    assert report.exit_status == 0, report.failures
    assert validate_dataset(out) == []
    return read_dataset(out)


@pytest.mark.parametrize("kind", [ImageKind.H264, ImageKind.H265, ImageKind.AV1])
def test_consecutive_frames_are_copied_bit_exact(tmp_path: Path, kind: ImageKind) -> None:
    spec = _spec(kind)
    write_recording(tmp_path / "rec.mcap", spec)
    info, (episode,), provenance = _convert([tmp_path / "rec.mcap"], _config(spec.cameras[0]), tmp_path / "out")
    frames = episode.videos["observation.images.cam"]
    source = _source_frames(tmp_path / "rec.mcap", spec)
    first = shown_frames(frames)[0]
    assert shown_frames(frames) == list(range(first, first + len(frames)))
    for k, frame in enumerate(frames):  # a re-encoding would not decode to the very same pixels
        np.testing.assert_array_equal(frame, source[first + k])
    assert info["features"]["observation.images.cam"]["info"]["video.codec"] == kind.codec
    assert "reencoded" not in provenance["episodes"][0]["alignment"][0]
    stats = episode_stats(tmp_path / "out")
    pixels = np.stack(frames).astype(np.float64) / 255
    np.testing.assert_allclose(stats["mean"], pixels.mean(axis=(0, 1, 2))[:, None, None], atol=0.02)


def episode_stats(root: Path) -> dict[str, np.ndarray]:
    import pyarrow.parquet as pq

    row = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()[0]
    return {key: np.asarray(row[f"stats/observation.images.cam/{key}"]) for key in ("mean", "min", "max")}


def test_half_rate_falls_back_to_reencoding_and_says_why(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = _spec()
    write_recording(tmp_path / "rec.mcap", spec)
    with caplog.at_level(logging.WARNING):
        _, (episode,), provenance = _convert([tmp_path / "rec.mcap"], _config(spec.cameras[0], fps=15),
                                             tmp_path / "out")
    shown = shown_frames(episode.videos["observation.images.cam"])
    assert np.all(np.diff(shown) == 2)
    reason = provenance["episodes"][0]["alignment"][0]["reencoded"]["observation.images.cam"]
    assert reason.startswith("frame 1 is message 2 after message 0 (the dataset fps is below the camera's")
    assert [r.getMessage() for r in caplog.records if "re-encoded" in r.getMessage()] == [
        f"observation.images.cam: packets not copied in this episode, re-encoded instead: {reason}"]


def test_a_dropped_message_mid_episode_reencodes_the_copied_frames_too(tmp_path: Path) -> None:
    spec = _spec()
    write_recording(tmp_path / "full.mcap", spec)
    topic = spec.cameras[0].topic
    # the last message of a GOP is lost in transport (nothing refers to it): frames 0-18 are copied first
    rewrite_video(tmp_path / "full.mcap", tmp_path / "rec.mcap", topic, lambda k, p: None if k == 2 * GOP - 1 else p)
    _, (episode,), provenance = _convert([tmp_path / "rec.mcap"], _config(spec.cameras[0]), tmp_path / "out")
    shown = shown_frames(episode.videos["observation.images.cam"])
    _, logs = stream_times(spec, topic)
    present = np.r_[0:2 * GOP - 1, 2 * GOP:45]
    t = frame_times(provenance["episodes"][0]["alignment"][0], len(shown))
    assert shown == present[nearest_index(logs[present], t)].tolist()
    assert shown[:2 * GOP - 1] == list(range(2 * GOP - 1))
    reason = provenance["episodes"][0]["alignment"][0]["reencoded"]["observation.images.cam"]
    assert re.match(r"frame (19|20) (repeats message|is message \d+ after message) ", reason)  # recording numbering


def test_a_mapping_can_turn_it_off_and_two_copied_shards_merge_by_stream_copy(tmp_path: Path) -> None:
    specs = [_spec(seed=1), _spec(seed=2, duration=1.0)]
    for n, spec in enumerate(specs):
        write_recording(tmp_path / f"r{n}.mcap", spec)
    camera = specs[0].cameras[0]
    info, episodes, _ = _convert([tmp_path / "r0.mcap", tmp_path / "r1.mcap"], _config(camera), tmp_path / "out")
    assert info["total_episodes"] == 2
    for episode in episodes:
        shown = shown_frames(episode.videos["observation.images.cam"])
        assert shown == list(range(shown[0], shown[0] + len(shown)))
    with av.open(str(tmp_path / "out/videos/observation.images.cam/chunk-000/file-000.mp4")) as container:
        assert container.streams.video[0].frames == sum(len(e.rows["index"]) for e in episodes)
    _convert([tmp_path / "r0.mcap"], _config(camera, mapping="passthrough = false"), tmp_path / "off")
    source = _source_frames(tmp_path / "r0.mcap", specs[0])
    _, (episode,), _ = read_dataset(tmp_path / "off")
    frames = episode.videos["observation.images.cam"]
    assert not all(np.array_equal(f, source[shown_frames([f])[0]]) for f in frames)  # re-encoded: not bit-exact
    merge_datasets([str(tmp_path / "out"), str(tmp_path / "off")], str(tmp_path / "merged"))  # copied + re-encoded
    assert validate_dataset(tmp_path / "merged") == []
    info, merged, _ = read_dataset(tmp_path / "merged")
    assert info["total_episodes"] == 3
    assert [shown_frames(e.videos["observation.images.cam"]) for e in merged] == [
        shown_frames(e.videos["observation.images.cam"]) for e in [*episodes, episode]]


def test_a_long_keyframe_interval_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = SynthSpec(duration_s=3.0, cameras=(CameraSpec("cam", ImageKind.H264, 64, 48, 30.0),), n_joints=2,
                     video_gop=75, start_time_ns=1_710_000_000_000_000_000)
    write_recording(tmp_path / "rec.mcap", spec)
    with caplog.at_level(logging.WARNING):
        _convert([tmp_path / "rec.mcap"], _config(spec.cameras[0]), tmp_path / "out")
    assert [r.getMessage() for r in caplog.records if "keyframes up to" in r.getMessage()] == [
        ("observation.images.cam: packets copied with keyframes up to 75 frames apart (2.5 s): each random frame "
        "access in lerobot decodes up to that many frames; set passthrough = false to re-encode with [video] gop")]
