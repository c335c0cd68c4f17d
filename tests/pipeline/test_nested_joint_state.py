"""``joints`` on a JointState inside another message (robot_calibration_msgs/CaptureConfig.joint_states)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pipeline_readback import read_dataset
from sources.builders import BASE_NS, CAPTURE_CONFIG, Msg, capture_config_msg, write_mcap

from roboflow.config import parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local

CONFIG = """
[dataset]
name = "calibration"
fps = 10
[[mappings]]
topic = "/capture_config"
feature = "observation.state"
mapping_type = "state"
field = "joint_states"
joints = ["wrist", "shoulder"]
"""


def test_joints_select_by_name_from_a_nested_joint_state(tmp_path: Path) -> None:
    messages = []
    for k in range(20):  # the recorder lists the joints in a different order every other message
        names = ["shoulder", "elbow", "wrist"] if k % 2 == 0 else ["wrist", "elbow", "shoulder"]
        values = {"shoulder": k, "elbow": 100 + k, "wrist": 200 + k}
        data = capture_config_msg(names, [values[n] for n in names])
        messages.append(Msg("/capture_config", BASE_NS + k * 100_000_000, data))
    recording = write_mcap(tmp_path / "calibration.mcap", messages, types={"/capture_config": CAPTURE_CONFIG})
    assert run_local([str(recording)], parse_config(CONFIG), tmp_path / "out", RunOptions()).exit_status == 0
    assert validate_dataset(tmp_path / "out") == []
    info, (episode,), _ = read_dataset(tmp_path / "out")
    assert info["features"]["observation.state"]["names"] == ["wrist", "shoulder"]
    state = np.stack(episode.rows["observation.state"])
    k = np.arange(20)
    np.testing.assert_array_equal(state, np.stack([200 + k, k], axis=1).astype(np.float32))
