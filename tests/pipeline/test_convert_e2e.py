"""End to end: synthetic recordings with known ground truth -> convert -> read the dataset back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pipeline_readback import (
    CAMERAS,
    CONFIG,
    check_episode,
    frame_times,
    nearest_index,
    read_dataset,
    shown_frames,
)

from roboflow.config import parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local
from roboflow.synth import SynthSpec, stream_times, write_recording
from roboflow.synth.truth import joint_position, seconds

SPEC = SynthSpec(duration_s=1.5, cameras=CAMERAS)

SUFFIX = {"mcap": ".mcap", "ros1": ".bag", "ros2-sqlite3": "", "ros2-mcap": ""}


@pytest.mark.parametrize("fmt", ["mcap", "ros1", "ros2-sqlite3", "ros2-mcap"])
def test_each_recording_format_converts_to_the_ground_truth(tmp_path: Path, fmt: str) -> None:
    recording = tmp_path / f"rec{SUFFIX[fmt]}"
    write_recording(recording, SPEC, format=fmt)
    out = tmp_path / "out"
    report = run_local([str(recording)], parse_config(CONFIG), out, RunOptions())
    assert report.exit_status == 0 and not report.failures
    assert validate_dataset(out) == []
    info, episodes, provenance = read_dataset(out)
    assert info["total_episodes"] == 1 and info["robot_type"] == "synthbot"
    assert info["features"]["observation.state"]["names"] == [f"joint_{j}" for j in range(14)]
    (entry,) = provenance["episodes"]
    assert entry["source"]["url"] == recording.absolute().as_uri()
    assert entry["source"]["format"] in ("mcap", "ros1bag", "rosbag2")
    assert len(entry["source"]["sha256"]) == 64 and entry["source"]["size"] > 0
    (alignment,) = entry["alignment"]
    # the timeline starts where every stream has data: the latest first log time
    firsts = [stream_times(SPEC, topic)[1][0] for topic in
              ("/cam_high/image_raw/compressed", "/cam_wrist/image_raw", "/joint_states", "/action")]
    assert alignment["start_ns"] == max(firsts)
    check_episode(episodes[0], alignment, SPEC)
    assert episodes[0].tasks == ["wave"]


@pytest.mark.parametrize("fmt", ["v3.0", "v2.1"])
def test_several_recordings_merge_in_path_order_in_both_formats(tmp_path: Path, fmt: str) -> None:
    specs = {
        "b.mcap": SynthSpec(duration_s=1.0, cameras=CAMERAS, seed=2),
        "a.bag": SynthSpec(duration_s=0.8, cameras=CAMERAS, seed=1),
        "sub/c.mcap": SynthSpec(duration_s=1.2, cameras=CAMERAS, seed=3, start_time_ns=SPEC.start_time_ns + 10**12),
    }
    for name, spec in specs.items():
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        write_recording(tmp_path / "in" / name, spec)
    out = tmp_path / "out"
    report = run_local([str(tmp_path / "in")], parse_config(CONFIG), out, RunOptions(jobs=2, format=fmt))
    assert report.exit_status == 0
    assert validate_dataset(out) == []
    info, episodes, provenance = read_dataset(out)
    assert info["codebase_version"] == fmt and info["total_episodes"] == 3
    order = ["a.bag", "b.mcap", "sub/c.mcap"]
    assert [e["source"]["url"] for e in provenance["episodes"]] == [(tmp_path / "in" / n).absolute().as_uri() for n in order]
    assert [e["episode_index"] for e in provenance["episodes"]] == [0, 1, 2]
    assert provenance["config"]["text"] == CONFIG and provenance["format"] == fmt
    assert provenance["recordings"] == {"converted": 3, "skipped": []}
    index = 0
    for episode, name, entry in zip(episodes, order, provenance["episodes"], strict=True):
        check_episode(episode, entry["alignment"][0], specs[name])
        assert episode.rows["index"].tolist() == list(range(index, index + len(episode.rows["index"])))
        assert set(episode.rows["episode_index"].tolist()) == {episode.index}
        index += len(episode.rows["index"])


def test_header_time_with_interpolation_follows_the_signal_between_samples(tmp_path: Path) -> None:
    spec = SynthSpec(duration_s=1.0, cameras=CAMERAS[:1])
    write_recording(tmp_path / "r.mcap", spec)
    config = parse_config("""
[dataset]
name = "i"
fps = 25
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"
time = "header"
policy = "interpolate"
joints = ["joint_3", "joint_0"]
[[mappings]]
topic = "/cam_high/image_raw/compressed"
feature = "observation.images.front"
mapping_type = "image"
time = "header"
[video]
codec = "libx264"
preset = "ultrafast"
""")
    run_local([str(tmp_path / "r.mcap")], config, tmp_path / "out", RunOptions())
    info, (episode,), provenance = read_dataset(tmp_path / "out")
    assert info["features"]["observation.state"]["names"] == ["joint_3", "joint_0"]
    alignment = provenance["episodes"][0]["alignment"][0]
    t = frame_times(alignment, len(episode.rows["index"]))
    stamps, _ = stream_times(spec, "/joint_states")
    expected = np.stack([np.interp(t, stamps, joint_position(seconds(stamps), j)) for j in (3, 0)], axis=1)
    np.testing.assert_allclose(np.stack(episode.rows["observation.state"]), expected, atol=2e-6)
    camera_stamps, _ = stream_times(spec, "/cam_high/image_raw/compressed")
    assert alignment["start_ns"] == max(stamps[0], camera_stamps[0])
    assert shown_frames(episode.videos["observation.images.front"]) == nearest_index(camera_stamps, t).tolist()
