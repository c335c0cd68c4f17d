"""A Rerun recording logged offline, as users log it: init-config's starter converts it unchanged, by its data clock.

The recording is the rrd synth (cameras as EncodedImage/Image/DepthImage, joints as one Scalars vector, actions as
one Scalars entity per joint, all on the user timeline ``time``; Rerun's ``log_time`` spans only the writing).
Every frame decoded from the output MP4s with PyAV shows the source frame nearest its time; state and action are
exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_main import run
from pipeline_readback import frame_times, hold_index, nearest_index, read_dataset, shown_frames

from roboflow.config import MappingType, parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.synth import CameraSpec, SynthSpec, stream_times, write_recording
from roboflow.synth.truth import action, joint_positions, render_frame, seconds

SPEC = SynthSpec(duration_s=2.0, cameras=(CameraSpec("front", "jpeg", 64, 48), CameraSpec("wrist", "rgb8", 64, 48)),
                 n_joints=3)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("rrd-convert")
    recording = write_recording(root / "episode.rrd", SPEC).path
    config = root / "starter.toml"
    assert run("init-config", str(recording), "-o", str(config)) == 0
    assert run("convert", str(recording), "-c", str(config), "-o", str(root / "out"), "--no-progress") == 0
    return root / "out", config.read_text()


def test_starter_maps_cameras_state_action_and_the_timeline(converted: tuple[Path, str]) -> None:
    _, text = converted
    config = parse_config(text)
    assert config.source.timeline == "time" and config.dataset.fps == 30
    assert [(m.feature, m.mapping_type, m.topics, m.depth_max) for m in config.mappings] == [
        ("observation.images.depth", MappingType.IMAGE, ("/camera/depth",), 4000.0),
        ("observation.images.front", MappingType.IMAGE, ("/camera/front",), None),
        ("observation.images.wrist", MappingType.IMAGE, ("/camera/wrist",), None),
        ("observation.state", MappingType.STATE, ("/robot/joints",), None),
        ("action", MappingType.ACTION, tuple(f"/robot/action/joint_{c}" for c in range(3)), None),
    ]


def test_dataset_holds_the_recording_on_its_data_clock(converted: tuple[Path, str]) -> None:
    out, _ = converted
    assert validate_dataset(out) == []
    info, (episode,), provenance = read_dataset(out)
    assert info["features"]["observation.state"]["names"] == ["joints_0", "joints_1", "joints_2"]
    assert info["features"]["action"]["names"] == ["joint_0", "joint_1", "joint_2"]
    length = len(episode.rows["frame_index"])
    assert 57 <= length <= 60  # 2 s at 30 fps, not the handful of frames log_time would give
    t = frame_times(provenance["episodes"][0]["alignment"][0], length)
    stamps, _ = stream_times(SPEC, SPEC.joint_topic)
    state = joint_positions(seconds(stamps[hold_index(stamps, t)]), 3)
    np.testing.assert_array_equal(np.stack(episode.rows["observation.state"]), state.astype(np.float32))
    _, logs = stream_times(SPEC, SPEC.action_topic)
    expected_action = action(seconds(logs[hold_index(logs, t)])[:, None], np.arange(3))
    np.testing.assert_array_equal(np.stack(episode.rows["action"]), expected_action.astype(np.float32))
    for camera in SPEC.cameras:
        camera_stamps, _ = stream_times(SPEC, camera.topic)
        assert shown_frames(episode.videos[f"observation.images.{camera.name}"]) == nearest_index(
            camera_stamps, t).tolist()
    front_stamps, _ = stream_times(SPEC, SPEC.cameras[0].topic)
    # depth = 10 x the front camera's gray, stored as depth/4000*255: the closest of the depth frames it can show
    grays = [render_frame(k, 64, 48).mean(axis=2).round() * 10 * 255 / 4000 for k in range(len(front_stamps))]
    shown = [int(np.argmin([np.abs(frame[:, :, 0] - gray).mean() for gray in grays]))
             for frame in episode.videos["observation.images.depth"]]
    assert shown == nearest_index(front_stamps, t).tolist()


def test_example_config_converts_the_rrd_synth(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "rerun.toml"
    spec = SynthSpec(duration_s=0.5, cameras=(CameraSpec("cam_high", "jpeg", 64, 48),
                                              CameraSpec("cam_wrist", "rgb8", 64, 48)))
    recording = write_recording(tmp_path / "demo.rrd", spec).path
    config = tmp_path / "rerun.toml"
    config.write_text(example.read_text().replace('preset = "veryfast"', 'preset = "ultrafast"'))
    assert run("convert", str(recording), "-c", str(config), "-o", str(tmp_path / "out"), "--no-progress") == 0
    assert validate_dataset(tmp_path / "out") == []
    info, (episode,), _ = read_dataset(tmp_path / "out")
    assert info["features"]["action"]["names"] == [f"joint_{c}" for c in range(14)]
    assert len(episode.videos["observation.images.depth"]) == len(episode.rows["frame_index"]) >= 14


def _sequence_rrd(path: Path) -> Path:
    """90 rows of a camera and a joint vector on ``step`` only (no user timestamps), logged within milliseconds."""
    import rerun as rr

    recording = rr.RecordingStream("roboflow-tests", recording_id=path.name)
    recording.save(path)
    recording.reset_time()
    for k in range(90):
        recording.set_time("step", sequence=k)
        recording.log("/cam", rr.Image(render_frame(k, 64, 48)))
        recording.log("/robot/joint_positions", rr.Scalars([k / 90, -k / 90]))
    recording.flush()
    recording.disconnect()
    return path


def test_starter_of_a_sequence_only_recording_uses_the_sequence(tmp_path: Path) -> None:
    recording = _sequence_rrd(tmp_path / "steps.rrd")
    config = tmp_path / "steps.toml"
    assert run("init-config", str(recording), "-o", str(config)) == 0
    parsed = parse_config(config.read_text())
    assert (parsed.source.timeline, parsed.source.timeline_rate, parsed.dataset.fps) == ("step", 30.0, 30)
    assert run("convert", str(recording), "-c", str(config), "-o", str(tmp_path / "out"), "--no-progress") == 0
    _, (episode,), _ = read_dataset(tmp_path / "out")
    assert shown_frames(episode.videos["observation.images.cam"]) == list(range(90))
    np.testing.assert_array_equal(np.stack(episode.rows["observation.state"])[:, 0],
                                  (np.arange(90) / 90).astype(np.float32))
