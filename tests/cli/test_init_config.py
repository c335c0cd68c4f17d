"""``roboflow init-config``: the starter config is valid, maps what it should, and converts."""

from __future__ import annotations

from pathlib import Path

import pytest

from roboflow.cli import main
from roboflow.config import MappingType, parse_config
from roboflow.lerobot.validate import validate_dataset
from roboflow.synth import CameraSpec, SynthSpec, write_recording

SMALL = SynthSpec(duration_s=0.5, cameras=(CameraSpec("front", "jpeg", 64, 48), CameraSpec("wrist", "rgb8", 64, 48)),
                  action_topic="/arm/joint_command")


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main([*args])
        raise SystemExit(0)
    return int(exit_info.value.code or 0)


def test_starter_config_maps_cameras_state_and_command_and_converts(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_recording(tmp_path / "r.mcap", SMALL)
    assert run("init-config", str(tmp_path / "r.mcap")) == 0
    text = capsys.readouterr().out
    config = parse_config(text)
    assert [(m.feature, m.mapping_type, m.topics) for m in config.mappings] == [
        ("observation.images.front", MappingType.IMAGE, ("/front/image_raw/compressed",)),
        ("observation.images.wrist", MappingType.IMAGE, ("/wrist/image_raw",)),
        ("observation.state", MappingType.STATE, ("/joint_states",)),
        ("action", MappingType.ACTION, ("/arm/joint_command",)),
    ]
    assert config.dataset.fps == 30 and "# codec = " in text
    path = tmp_path / "starter.toml"
    path.write_text(text.replace("[video]\n", '[video]\ncodec = "libx264"\npreset = "ultrafast"\n'))
    assert run("convert", str(tmp_path / "r.mcap"), "-c", str(path), "-o", str(tmp_path / "out")) == 0
    assert validate_dataset(tmp_path / "out") == []


def test_output_file_is_not_overwritten_without_force(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_recording(tmp_path / "r.mcap", SMALL)
    target = tmp_path / "c.toml"
    assert run("init-config", str(tmp_path / "r.mcap"), "-o", str(target), "--fps", "15") == 0
    assert parse_config(target.read_text()).dataset.fps == 15
    assert run("init-config", str(tmp_path / "r.mcap"), "-o", str(target)) == 2
    assert "exists already, not overwriting (pass --force to replace it)" in capsys.readouterr().err
    assert run("init-config", str(tmp_path / "r.mcap"), "-o", str(target), "--force") == 0


def test_realsense_bag_gets_its_colour_camera_and_a_commented_depth_mapping(recordings: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("init-config", str(recordings / "librealsense/single_depth_color_640x480.bag")) == 0
    text = capsys.readouterr().out
    config = parse_config(text)
    assert [m.topics for m in config.mappings] == [("/device_0/sensor_1/Color_0/image/data",)]
    assert '# topic = "/device_0/sensor_0/Depth_0/image/data"' in text and "# depth_max = 4000.0" in text
    lines = text.splitlines()
    start = lines.index('# topic = "/device_0/sensor_0/Depth_0/image/data"   # depth: stored as 8-bit gray, '
                        'value/depth_max*255') - 1
    end = lines.index("# depth_max = 4000.0") + 1
    enabled = "\n".join(lines[:start] + [line.removeprefix("# ") for line in lines[start:end]] + lines[end:])
    depth = parse_config(enabled).mappings[-1]
    assert depth.feature == "observation.images.depth_0" and depth.depth_max == 4000.0


def test_a_recording_without_cameras_or_joints_maps_its_command_topic(recordings: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("init-config", str(recordings / "rosbagjs/example.bag")) == 0
    config = parse_config(capsys.readouterr().out)
    assert [(m.feature, m.topics) for m in config.mappings] == [("action", ("/turtle1/cmd_vel",))]
