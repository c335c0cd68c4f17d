"""``roboflow init-config``: the starter config is valid, maps what it should, and converts."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_main import run

from roboflow.config import MappingType, parse_config
from roboflow.config.starter import starter_config
from roboflow.config.survey import TopicFields
from roboflow.decode import decoder_for
from roboflow.errors import ConfigError
from roboflow.lerobot.validate import validate_dataset
from roboflow.sources import RecordingInfo, TopicInfo, open_source
from roboflow.synth import CameraSpec, SynthSpec, write_recording

SMALL = SynthSpec(duration_s=0.5, cameras=(CameraSpec("front", "jpeg", 64, 48), CameraSpec("wrist", "rgb8", 64, 48)),
                  action_topic="/arm/joint_command")


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


def _uncomment(text: str, topic: str) -> str:
    """``text`` with the commented-out mapping block of ``topic`` enabled."""
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f'# topic = "{topic}"'))) - 1
    end = lines.index("", start)
    return "\n".join(lines[:start] + [line.removeprefix("# ") for line in lines[start:end]] + lines[end:])


def test_a_camera_less_recording_gets_its_pose_as_state_at_its_rate_and_converts(  # type: ignore[no-untyped-def]
        recordings: Path, tmp_path: Path, capsys) -> None:
    bag = recordings / "rosbagjs/example.bag"
    assert run("init-config", str(bag)) == 0
    text = capsys.readouterr().out
    config = parse_config(text)
    assert [(m.feature, m.topics, m.inputs[0].fields) for m in config.mappings] == [
        ("observation.state", ("/turtle1/pose",), ("x", "y", "theta", "linear_velocity", "angular_velocity")),
        ("action", ("/turtle1/cmd_vel",), None),
    ]
    assert config.dataset.fps == 62  # /turtle1/pose's 62.5 Hz, not a fixed 30
    assert "(the rate of /turtle1/pose; no camera)" in text
    # every numeric topic is offered, TF with one transform selected by its child frame; /rosout (text) is not
    for topic in ("/turtle1/color_sensor", "/turtle2/pose", "/turtle2/cmd_vel", "/tf", "/tf_static"):
        assert f'# topic = "{topic}"' in text
    assert "/rosout" not in text
    assert "# # transforms on this topic: world -> turtle2, world -> turtle1;" in text
    tf = parse_config(_uncomment(text, "/tf")).mappings[-1]
    assert tf.inputs[0].fields == ("transforms[child_frame_id=turtle2].transform.translation",
                                   "transforms[child_frame_id=turtle2].transform.rotation")
    assert parse_config(_uncomment(text, "/turtle2/pose")).mappings[-1].inputs[0].fields == (
        "x", "y", "theta", "linear_velocity", "angular_velocity")
    starter = tmp_path / "turtles.toml"
    starter.write_text(text.replace('task = "describe the task"', 'task = "draw"'))
    assert run("convert", str(bag), "-c", str(starter), "-o", str(tmp_path / "out")) == 0
    assert validate_dataset(tmp_path / "out") == []
    state = pq.read_table(tmp_path / "out/data/chunk-000/file-000.parquet").column("observation.state").to_pylist()
    with open_source(bag) as source:
        poses = {(m.x, m.y) for raw in source.messages(["/turtle1/pose"]) for m in [decoder_for(raw.channel)(raw.data)]}
    assert len(state) > 1000 and all((row[0], row[1]) in poses for row in state)


def test_nothing_recognised_leads_to_an_error_naming_the_blocks_to_enable(recordings: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("init-config", str(recordings / "rosbag2/talker_mcap")) == 0
    text = capsys.readouterr().out
    line = text.splitlines().index("# [[mappings]]") + 1
    with pytest.raises(ConfigError, match=r"config: missing required key 'mappings' \(uncomment at least one of its "
                                          rf"commented \[\[mappings\]\] blocks: observation.state \(line {line}\)\)"):
        parse_config(text)
    with pytest.raises(ConfigError, match=r"missing required key 'mappings' \(add a \[\[mappings\]\] table per feature"):
        parse_config('[dataset]\nname = "x"\nfps = 10\n')


def test_undecodable_cameras_and_topics_are_left_out_with_the_reason(  # type: ignore[no-untyped-def]
        recordings: Path, tmp_path: Path, capsys) -> None:
    """The rosbags_rs bag's images are 30 bytes under a 640x480 header: a starter mapping them cannot convert."""
    bag = recordings / "rosbags_rs/test_bag_mcap"
    assert run("init-config", str(bag)) == 0
    text = capsys.readouterr().out
    assert [m.topics for m in parse_config(text).mappings] == [("/test/sensor_msgs/joint_state",)]
    assert "# Cannot decode its first frame, so left out: /test/sensor_msgs/image at t=" in text
    assert '# topic = "/test/sensor_msgs/image"' in text
    starter = tmp_path / "rr.toml"
    starter.write_text(text.replace('task = "describe the task"', 'task = "test"'))
    assert run("convert", str(bag), "-c", str(starter), "-o", str(tmp_path / "out")) == 0
    assert validate_dataset(tmp_path / "out") == []
    capsys.readouterr()
    assert run("init-config", str(recordings / "rosbag2/cdr_test_sqlite3_2021")) == 0
    assert ("# Not offered, its first message cannot be decoded: /test_topic: no definition of test_msgs/msg/BasicTypes"
            in capsys.readouterr().out)


def test_custom_numeric_types_are_offered_with_fields_that_parse() -> None:
    topics = (TopicInfo("/markers", "my_msgs/msg/Markers", "cdr", 100, 10.0),
              TopicInfo("/robot_pose", "my_msgs/msg/Pose2", "cdr", 500, 50.0),
              TopicInfo("/status", "my_msgs/msg/Status", "cdr", 10, 1.0))
    fields = {"/markers": TopicFields(numeric=("markers[].id", "markers[].x")),
              "/robot_pose": TopicFields(numeric=("x", "y", "theta")),
              "/status": TopicFields(numeric=("level",), other=("text",))}  # text: not a vector
    text = starter_config(RecordingInfo("r.mcap", "mcap", 0, 10**10, 610, topics), fields=fields)
    config = parse_config(text)
    assert [(m.feature, m.topics, m.inputs[0].fields) for m in config.mappings] == [
        ("observation.state", ("/robot_pose",), ("x", "y", "theta"))]
    assert config.dataset.fps == 50 and "/status" not in text
    markers = parse_config(_uncomment(text, "/markers")).mappings[-1]
    assert markers.inputs[0].fields == ("markers[0].id",)
