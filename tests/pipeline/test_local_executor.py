"""The local executor: shards that cannot join the dataset are skipped and reported."""

from __future__ import annotations

import json
from pathlib import Path

from roboflow.config import parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local
from roboflow.synth import CameraSpec, SynthSpec, write_recording

CONFIG = """
[dataset]
name = "x"
fps = 15
[[mappings]]
topic = "/front/image_raw/compressed"
feature = "observation.images.front"
mapping_type = "image"
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"
[video]
codec = "libx264"
preset = "ultrafast"
"""


def spec(width: int, seed: int) -> SynthSpec:
    return SynthSpec(duration_s=0.5, seed=seed, cameras=(CameraSpec("front", "jpeg", width, 48),))


def test_the_odd_recording_is_skipped_even_when_it_sorts_first(tmp_path: Path) -> None:
    write_recording(tmp_path / "a.mcap", spec(96, 1))
    write_recording(tmp_path / "b.mcap", spec(64, 2))
    write_recording(tmp_path / "c.mcap", spec(64, 3))
    report = run_local([str(tmp_path)], parse_config(CONFIG), tmp_path / "out", RunOptions())
    assert report.exit_status == 4
    assert [f.item.url.rsplit("/", 1)[-1] for f in report.failures] == ["a.mcap"]
    provenance = json.loads((tmp_path / "out" / "meta" / "roboflow.json").read_text())
    assert [e["source"]["url"].rsplit("/", 1)[-1] for e in provenance["episodes"]] == ["b.mcap", "c.mcap"]


def test_a_recording_with_other_image_sizes_is_skipped_and_reported(tmp_path: Path) -> None:
    write_recording(tmp_path / "a.mcap", spec(64, 1))
    write_recording(tmp_path / "b.mcap", spec(96, 2))
    write_recording(tmp_path / "c.mcap", spec(64, 3))
    report = run_local([str(tmp_path)], parse_config(CONFIG), tmp_path / "out", RunOptions(jobs=2))
    assert report.exit_status == 4
    (failure,) = report.failures
    assert failure.item.url.endswith("b.mcap")
    assert failure.error == (f"{tmp_path / 'b.mcap'}: features differ from the other recordings' "
                             "(observation.images.front: shape [48, 96, 3] here, [48, 64, 3] in the others)")
    assert validate_dataset(tmp_path / "out") == []
    provenance = json.loads((tmp_path / "out" / "meta" / "roboflow.json").read_text())
    assert [e["source"]["url"].rsplit("/", 1)[-1] for e in provenance["episodes"]] == ["a.mcap", "c.mcap"]
    assert provenance["recordings"]["skipped"][0]["source"].endswith("b.mcap")
