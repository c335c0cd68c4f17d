"""Vector messages no frame takes stay undecoded: at 30 fps a 200 Hz joint state is decoded about once per frame,
not for every message, and the dataset is the one decoding every message gives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import roboflow.features.plan as plan_module
from roboflow.config import parse_config
from roboflow.pipeline import RunOptions, run_local
from roboflow.sources.base import RawMessage
from roboflow.synth import SynthSpec, write_recording

CONFIG = """
[dataset]
name = "lazy"
fps = 30
task = "t"
robot_type = "synthbot"
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"
policy = "{policy}"
[[mappings]]
topic = "/action"
feature = "action"
mapping_type = "action"
policy = "{policy}"
"""
DECODE = plan_module.FeaturePlan._decode


def _convert(recording: Path, out: Path, config: str, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, Counter[str]]:
    """The dataset's rows, and how many messages of each topic were decoded."""
    decoded: Counter[str] = Counter()

    def counting(self: plan_module.FeaturePlan, raw: RawMessage) -> Any:
        decoded[raw.topic] += 1
        return DECODE(self, raw)

    monkeypatch.setattr(plan_module.FeaturePlan, "_decode", counting)
    assert run_local([str(recording)], parse_config(config), out, RunOptions()).exit_status == 0
    return pq.read_table(out / "data" / "chunk-000" / "file-000.parquet"), decoded


@pytest.mark.parametrize("policy", ["nearest", "hold"])
def test_only_the_messages_frames_take_are_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   policy: str) -> None:
    write_recording(tmp_path / "rec.mcap", SynthSpec(duration_s=3.0, cameras=()))
    config = CONFIG.format(policy=policy)
    lazy, decoded = _convert(tmp_path / "rec.mcap", tmp_path / "lazy", config, monkeypatch)
    monkeypatch.setattr(plan_module, "_decodes_lazily", lambda *_: False)
    every, all_decoded = _convert(tmp_path / "rec.mcap", tmp_path / "every", config, monkeypatch)
    frames = lazy.num_rows
    assert frames >= 85
    assert all_decoded["/joint_states"] >= 590 and all_decoded["/action"] >= 145  # 200 Hz and 50 Hz, 3 s
    assert decoded["/joint_states"] <= frames and decoded["/action"] <= frames
    assert lazy.equals(every)


def test_interpolated_or_held_joints_decode_every_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Their values depend on the messages around a frame time, or on every earlier one."""
    write_recording(tmp_path / "rec.mcap", SynthSpec(duration_s=1.0, cameras=()))
    _, decoded = _convert(tmp_path / "rec.mcap", tmp_path / "out", CONFIG.format(policy="interpolate"), monkeypatch)
    assert decoded["/joint_states"] >= 195 and decoded["/action"] >= 45
    held = CONFIG.replace('mapping_type = "state"', 'mapping_type = "state"\nmissing_joint = "hold"')
    _, decoded = _convert(tmp_path / "rec.mcap", tmp_path / "held", held.format(policy="nearest"), monkeypatch)
    assert decoded["/joint_states"] >= 195 and decoded["/action"] <= 31
