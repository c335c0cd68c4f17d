"""``roboflow init-config`` on an MCAP as the Foxglove SDK writes it (h264 CompressedVideo cameras, JSON state and
action): the video topics become cameras, the JSON topics state and action with their numeric fields, and the
starter converts with the values of the recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_main import run
from pipeline.pipeline_readback import read_dataset, shown_frames
from pipeline.video_recordings import write_foxglove_sdk_like

from roboflow.config import MappingType, parse_config
from roboflow.lerobot.validate import validate_dataset


def test_video_cameras_and_json_state_action_make_a_starter_that_converts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_foxglove_sdk_like(tmp_path / "sdk.mcap")
    assert run("init-config", str(tmp_path / "sdk.mcap")) == 0
    text = capsys.readouterr().out
    config = parse_config(text)
    assert [(m.feature, m.mapping_type, m.topics) for m in config.mappings] == [
        ("observation.images.front", MappingType.IMAGE, ("/front/video",)),
        ("observation.images.wrist", MappingType.IMAGE, ("/wrist/video",)),
        ("observation.state", MappingType.STATE, ("/robot/state",)),
        ("action", MappingType.ACTION, ("/robot/action",)),
    ]
    assert '"/front/video"   # 128x96 h264' in text
    assert 'field = ["joint_positions", "gripper"]' in text and 'field = ["target"]' in text
    path = tmp_path / "starter.toml"
    path.write_text(text.replace("[video]\n", '[video]\ncodec = "libx264"\npreset = "ultrafast"\n'))
    assert run("convert", str(tmp_path / "sdk.mcap"), "-c", str(path), "-o", str(tmp_path / "out")) == 0
    assert validate_dataset(tmp_path / "out") == []
    info, (episode,), _ = read_dataset(tmp_path / "out")
    assert info["features"]["observation.state"]["shape"] == [4]
    state = np.stack(episode.rows["observation.state"])
    np.testing.assert_allclose(state[:, 1], 2 * state[:, 0], atol=1e-6)
    np.testing.assert_allclose(state[:, 3], state[:, 0] / 10, atol=1e-6)
    np.testing.assert_allclose(np.stack(episode.rows["action"])[:, 0], -state[:, 0], atol=0.021)
    for camera in ("front", "wrist"):
        shown = shown_frames(episode.videos[f"observation.images.{camera}"])
        assert shown == list(range(shown[0], shown[0] + len(shown)))
