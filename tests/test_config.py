from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from roboflow.config import MappingType, MissingJoint, Policy, TimeSource, load_config, parse_config
from roboflow.config.schema import MAX_CONFIG_BYTES, video_settings
from roboflow.errors import ConfigError

SEED = """
[source]
type = "mcap"  # or "bag", "rrd"
path = "s3://bucket/path/to/data.mcap"

# Optional: topic filtering
topics = ["/camera/image_raw", "/joint_states"]

[dataset]
name = "robot_dataset"
fps = 30
robot_type = "franka"

[[mappings]]
topic = "/camera/color/image_raw"
feature = "observation.images.camera_0"
mapping_type = "image"

[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"

[video]
codec = "libx264"
crf = 18

[flushing]
max_frames_per_chunk = 1000
max_memory_bytes = 2147483648  # 2GB

[streaming]
finalize_metadata_in_coordinator = true
"""

MINIMAL = """
[dataset]
name = "d"
fps = 10
[[mappings]]
topic = "/js"
feature = "observation.state"
mapping_type = "state"
"""


def test_the_seed_config_is_accepted_as_written() -> None:
    config = parse_config(SEED, origin="seed.toml")
    assert config.source.type == "mcap" and config.source.path == "s3://bucket/path/to/data.mcap"
    assert config.source.topics == ("/camera/image_raw", "/joint_states")
    assert (config.dataset.name, config.dataset.fps, config.dataset.robot_type) == ("robot_dataset", 30, "franka")
    camera, state = config.mappings
    assert camera.mapping_type is MappingType.IMAGE and camera.topics == ("/camera/color/image_raw",)
    assert camera.inputs[0].policy is Policy.NEAREST
    assert state.feature == "observation.state" and state.inputs[0].policy is Policy.HOLD
    assert (config.video.codec, config.video.crf) == ("libx264", 18)
    assert config.flushing.max_memory_bytes == 2147483648
    assert config.streaming.finalize_metadata_in_coordinator is True
    assert config.dataset.format == "v3.0" and config.dataset.time is TimeSource.LOG
    assert config.sha256 == hashlib.sha256(SEED.encode()).hexdigest() and config.text == SEED
    assert config.topics == ("/camera/color/image_raw", "/joint_states")


def test_extensions_parse_with_mapping_options_inherited_by_sources() -> None:
    config = parse_config("""
[dataset]
name = "d"
fps = 20
task = "pick the cube"
task_topic = "/task"
format = "v2.1"
time = "header"

[episodes]
split = "gap"
gap_s = 2.5
min_frames = 5

[[mappings]]
feature = "observation.state"
mapping_type = "state"
policy = "interpolate"
tolerance_ms = 12.5
names = ["a", "b", "c", "g"]
[[mappings.sources]]
topic = "/left/joint_states"
joints = ["a", "b", "c"]
field = "position"
missing_joint = "hold"
[[mappings.sources]]
topic = "/gripper"
field = ["data[0]"]
policy = "hold"
time = "log"

[[mappings]]
feature = "action"
mapping_type = "action"
topics = ["/cmd_a", "/cmd_b"]
field = "data"

[[mappings]]
feature = "observation.images.depth"
mapping_type = "image"
topic = "/depth"
policy = "drop"
depth_max = 4000
""")
    assert config.dataset.format == "v2.1" and config.dataset.task == "pick the cube"
    assert config.dataset.task_topic == "/task" and config.dataset.default_task == "pick the cube"
    assert (config.episodes.split, config.episodes.gap_s, config.episodes.min_frames) == ("gap", 2.5, 5)
    state, action, depth = config.mappings
    left, gripper = state.inputs
    assert left.joints == ("a", "b", "c") and left.fields == ("position",)
    assert left.missing_joint is MissingJoint.HOLD
    assert left.policy is Policy.INTERPOLATE and left.tolerance_ns == 12_500_000 and left.time is TimeSource.HEADER
    assert gripper.fields == ("data[0]",) and gripper.policy is Policy.HOLD and gripper.time is TimeSource.LOG
    assert gripper.tolerance_ns == 12_500_000 and gripper.missing_joint is MissingJoint.ERROR
    assert state.names == ("a", "b", "c", "g")
    assert [i.topic for i in action.inputs] == ["/cmd_a", "/cmd_b"]
    assert all(i.fields == ("data",) for i in action.inputs)
    assert depth.depth_max == 4000.0 and depth.inputs[0].tolerance_ns == 25_000_000  # drop: half a period
    assert config.topics == ("/left/joint_states", "/gripper", "/cmd_a", "/cmd_b", "/depth", "/task")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (MINIMAL + 'polcy = "hold"\n', r"\[\[mappings\]\] 'observation.state': unknown key 'polcy'.*did you mean 'policy'"),
        (MINIMAL.replace("[dataset]", "[datset]"), r"config: unknown key 'datset'.*did you mean 'dataset'"),
        (MINIMAL + '[video]\ncodc = "h264"\n', r"\[video\]: unknown key 'codc'.*did you mean 'codec'"),
        (MINIMAL.replace("fps = 10", 'fps = "10"'), r"\[dataset\] fps: expected an integer, got string '10'"),
        (MINIMAL.replace("fps = 10", "fps = true"), r"fps: expected an integer, got boolean True"),
        (MINIMAL.replace("fps = 10", "fps = 0"), r"fps: must be >= 1, got 0"),
        (MINIMAL.replace('name = "d"\n', ""), r"\[dataset\]: missing required key 'name'"),
        (MINIMAL.replace('mapping_type = "state"', 'mapping_type = "vector"'),
         r"mapping_type: 'vector' is not one of image, state, action"),
        (MINIMAL + 'policy = "hodl"\n', r"policy: 'hodl' is not one of .*did you mean 'hold'"),
        (MINIMAL + "tolerance_ms = -1\n", r"tolerance_ms: must be > 0"),
        (MINIMAL + 'joints = "a"\n', r"joints: expected a list of strings, got string 'a'"),
        (MINIMAL + 'field = ["a", 3]\n', r"field: expected a non-empty list of non-empty strings"),
        (MINIMAL + 'topics = ["/x"]\n', r"give exactly one of 'topic', 'topics' or 'sources' \(got 2\)"),
        (MINIMAL.replace('"observation.state"', '"observation/state"'), r"contains '/'.*use 'observation.state'"),
        (MINIMAL + MINIMAL[MINIMAL.index("[[mappings]]"):], r"feature 'observation.state' is mapped twice"),
        (MINIMAL.replace('format', 'x') + '[dataset.x]\n', r"unknown key 'x'"),
        (MINIMAL.replace("[[mappings]]", "[mappings]"), r"mappings: expected an array of tables"),
        ('mappings = []\n[dataset]\nname = "d"\nfps = 10\n', r"\[\[mappings\]\] is empty"),
        (MINIMAL + '[episodes]\nsplit = "topic"\n', r'split = "topic" needs topic'),
        (MINIMAL + 'depth_max = 3.0\n', r"depth_max: applies to image mappings only"),
        (MINIMAL.replace('"state"', '"image"') + 'policy = "interpolate"\n', r"images cannot be interpolated"),
        (MINIMAL.replace('"state"', '"image"') + 'joints = ["a"]\n', r"joints: applies to state and action"),
        (MINIMAL.replace('"state"', '"image"').replace('topic = "/js"', 'topics = ["/a", "/b"]'),
         r"an image mapping reads exactly one topic, got 2"),
        (MINIMAL + '[dataset2]\n', r"unknown key 'dataset2'.*did you mean 'dataset'"),
        (MINIMAL.replace("fps = 10", "fps = 10\nformat = \"v3\""), r"format: 'v3' is not one of v3.0, v2.1"),
        ("[dataset\nname=1", r"not valid TOML: .*line 1"),
    ],
)
def test_invalid_configs_fail_with_one_clear_message(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_config(text, origin="conf.toml")
    assert str(info.value).startswith("conf.toml: ")


def test_load_config_reads_files_and_refuses_unreadable_or_huge_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert config.origin == str(path) and config.sha256 == hashlib.sha256(MINIMAL.encode()).hexdigest()
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    path.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="more than the limit"):
        load_config(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_drop_tolerance_defaults_to_half_a_frame_period_but_hold_has_none() -> None:
    config = parse_config(MINIMAL.replace("fps = 10", "fps = 30") + 'policy = "drop"\n')
    assert config.mappings[0].inputs[0].tolerance_ns == 16_666_666
    assert parse_config(MINIMAL).mappings[0].inputs[0].tolerance_ns is None


def test_video_preset_accepts_names_and_numbers() -> None:
    assert parse_config(MINIMAL + '[video]\npreset = 8\n').video.preset == "8"
    assert parse_config(MINIMAL + '[video]\npreset = "ultrafast"\ngop = 2\n').video.gop == 2


def test_video_defaults_and_lerobots_settings() -> None:
    assert video_settings(parse_config(MINIMAL).video).encoder_options() == {
        "g": "2",
        "crf": "23",
        "preset": "veryfast",
    }
    lerobot = parse_config(MINIMAL + '[video]\ncodec = "libsvtav1"\npreset = 12\n').video
    assert video_settings(lerobot).encoder_options() == {"g": "2", "crf": "30", "preset": "12"}


def test_field_paths_are_checked_when_the_config_is_read() -> None:
    selection = 'field = ["transforms[header.frame_id=odom, child_frame_id=\'base link\'].transform", "data[2]"]\n'
    assert parse_config(MINIMAL + selection).mappings[0].inputs[0].fields == (
        "transforms[header.frame_id=odom, child_frame_id='base link'].transform", "data[2]")
    with pytest.raises(ConfigError, match=r"t.toml: \[\[mappings\]\] 'observation.state' field: invalid field path "
                                          r"'transforms\[child_frame_id base_link\]' at character 11 \(write fields "):
        parse_config(MINIMAL + 'field = "transforms[child_frame_id base_link]"\n', origin="t.toml")
