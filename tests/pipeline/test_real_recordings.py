"""The real recordings with cameras or joint states convert, or fail with the documented message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pipeline_readback import read_dataset

from roboflow.config import parse_config
from roboflow.decode import decoder_for
from roboflow.errors import ConfigError, SourceError, UserError
from roboflow.features import ImageDecoder
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import ConvertContext, RunOptions, WorkItem, convert_recording, run_local
from roboflow.sources import open_source

REALSENSE = "librealsense/single_depth_color_640x480.bag"
COLOR = "/device_0/sensor_1/Color_0/image/data"
DEPTH = "/device_0/sensor_0/Depth_0/image/data"
VIDEO = '[video]\ncodec = "libx264"\npreset = "ultrafast"\ncrf = 10\n'


def realsense_config(depth_max: str) -> str:
    return f"""
[dataset]
name = "realsense"
fps = 30
[[mappings]]
topic = "{COLOR}"
feature = "observation.images.color"
mapping_type = "image"
[[mappings]]
topic = "{DEPTH}"
feature = "observation.images.depth"
mapping_type = "image"
{depth_max}
""" + VIDEO


def test_realsense_colour_and_scaled_depth_convert(recordings: Path, tmp_path: Path) -> None:
    bag = recordings / REALSENSE
    report = run_local([str(bag)], parse_config(realsense_config("depth_max = 4000.0")), tmp_path / "out", RunOptions())
    assert report.exit_status == 0
    assert validate_dataset(tmp_path / "out") == []
    info, (episode,), _ = read_dataset(tmp_path / "out")
    assert info["total_frames"] == 1  # one colour message: the streams overlap at one instant
    assert info["features"]["observation.images.depth"]["shape"] == [480, 640, 3]
    with open_source(bag) as source:
        raw = next(source.messages(topics=[COLOR]))
        expected = ImageDecoder(COLOR, "sensor_msgs/msg/Image")(decoder_for(raw.channel)(raw.data), raw.log_time)
    (frame,) = episode.videos["observation.images.color"]
    assert np.abs(frame.astype(int) - expected.astype(int)).mean() < 4  # the real image, through yuv420p video
    depth = episode.videos["observation.images.depth"][0]
    assert np.ptp(depth[..., 0]) > 50 and np.abs(depth[..., 0].astype(int) - depth[..., 2]).max() <= 3  # gray


def test_realsense_depth_without_depth_max_fails_with_the_documented_message(recordings: Path, tmp_path: Path) -> None:
    context = ConvertContext(parse_config(realsense_config("")), tmp_path / "staging")
    with pytest.raises(ConfigError, match=rf"single_depth_color_640x480.bag: {DEPTH}: mono16 frames are depth/16-bit "
                                          r"data, which an 8-bit LeRobot video cannot hold \(set depth_max"):
        convert_recording(WorkItem(0, str(recordings / REALSENSE), "rs"), context)


ROSBAGS_RS = ["rosbags_rs/test_bag_mcap", "rosbags_rs/test_bag_sqlite3"]
JOINTS = """
[dataset]
name = "rr"
fps = 10
[[mappings]]
topic = "/test/sensor_msgs/joint_state"
feature = "observation.state"
mapping_type = "state"
field = ["position", "effort"]
"""


@pytest.mark.parametrize("bag", ROSBAGS_RS)
def test_rosbags_rs_joint_states_convert(recordings: Path, tmp_path: Path, bag: str) -> None:
    report = run_local([str(recordings / bag)], parse_config(JOINTS), tmp_path / "out", RunOptions(format="v2.1"))
    assert report.exit_status == 0 and validate_dataset(tmp_path / "out") == []
    info, (episode,), provenance = read_dataset(tmp_path / "out")
    assert info["features"]["observation.state"]["names"] == [
        "joint1.position", "joint2.position", "joint3.position", "joint1.effort", "joint2.effort", "joint3.effort"]
    state = np.stack(episode.rows["observation.state"])
    np.testing.assert_allclose(state, np.tile([0.1, 0.2, 0.3, 1.0, 2.0, 3.0], (len(state), 1)), rtol=1e-6)
    alignment = provenance["episodes"][0]["alignment"][0]
    assert len(state) == alignment["frames_written"] == 95  # two messages 9.4 s apart, at 10 fps


@pytest.mark.parametrize("bag", ROSBAGS_RS)
def test_rosbags_rs_truncated_images_fail_with_the_documented_message(recordings: Path, tmp_path: Path, bag: str) -> None:
    config = JOINTS + '[[mappings]]\ntopic = "/test/sensor_msgs/image"\nfeature = "observation.images.cam"\nmapping_type = "image"\n'
    context = ConvertContext(parse_config(config + VIDEO), tmp_path / "staging")
    with pytest.raises(SourceError, match=r"/test/sensor_msgs/image at t=\d+\.\d+ s: rgb8 image header says 640x480 "
                                          r"\(step 1920\), which needs 921600 bytes, but the message has 30 "
                                          r"\(the recording's image data is truncated or its header is wrong\)"):
        convert_recording(WorkItem(0, str(recordings / bag), "rr"), context)
    with pytest.raises(UserError, match="no recording could be converted"):
        run_local([str(recordings / bag)], parse_config(config + VIDEO), tmp_path / "out", RunOptions())
    assert not (tmp_path / "out").exists()


def test_rosbags_rs_undecodable_jpeg_fails_with_the_documented_message(recordings: Path, tmp_path: Path) -> None:
    config = JOINTS + ('[[mappings]]\ntopic = "/test/sensor_msgs/compressed_image"\n'
                       'feature = "observation.images.cam"\nmapping_type = "image"\n')
    context = ConvertContext(parse_config(config + VIDEO), tmp_path / "staging")
    with pytest.raises(SourceError, match=r"/test/sensor_msgs/compressed_image at t=.* s: corrupt JPEG \(10 bytes\): .*"
                                          r"\(the image data is truncated or damaged\)"):
        convert_recording(WorkItem(0, str(recordings / ROSBAGS_RS[0]), "rr"), context)


def test_a_mapping_of_a_non_image_type_to_an_image_is_refused(recordings: Path, tmp_path: Path) -> None:
    config = JOINTS.replace('mapping_type = "state"\nfield = ["position", "effort"]', 'mapping_type = "image"')
    context = ConvertContext(parse_config(config + VIDEO), tmp_path / "staging")
    with pytest.raises(ConfigError, match=r"mapping 'observation.state': /test/sensor_msgs/joint_state is "
                                          r"sensor_msgs/msg/JointState, which carries no images"):
        convert_recording(WorkItem(0, str(recordings / ROSBAGS_RS[0]), "rr"), context)
