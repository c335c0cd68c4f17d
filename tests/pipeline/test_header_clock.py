"""``time = "header"`` on a recording whose header clock is not its log clock: "no frames" shows both ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from roboflow.config import parse_config
from roboflow.errors import SourceError
from roboflow.pipeline import ConvertContext, WorkItem, convert_recording

REALSENSE = "librealsense/single_depth_color_640x480.bag"
CONFIG = """
[dataset]
name = "realsense"
fps = 30
time = "header"
[[mappings]]
topic = "/device_0/sensor_1/Color_0/image/data"
feature = "observation.images.color"
mapping_type = "image"
[[mappings]]
topic = "/device_0/sensor_0/Depth_0/image/data"
feature = "observation.images.depth"
mapping_type = "image"
depth_max = 4000.0
"""


def test_no_frames_under_header_time_shows_each_streams_header_and_log_range(recordings: Path, tmp_path: Path) -> None:
    """The RealSense bag logs from 0 s (time since start) and stamps from the camera's clock (~360 s); its one
    colour frame is stamped before the first depth frame, so under header time the streams never overlap."""
    context = ConvertContext(parse_config(CONFIG), tmp_path / "staging")
    with pytest.raises(SourceError) as caught:
        convert_recording(WorkItem(0, str(recordings / REALSENSE), "rs"), context)
    assert str(caught.value) == (
        f"{recordings / REALSENSE}: no frames: the mapped streams never have data at the same time; "
        "/device_0/sensor_1/Color_0/image/data -> observation.images.color: header 360.714..360.714 s "
        "(log 0.054..0.054 s), /device_0/sensor_0/Depth_0/image/data -> observation.images.depth: header "
        "360.815..360.982 s (log 0.000..0.168 s) (header stamps of different clocks do not overlap: use "
        'time = "log" for the streams whose header clock differs)'
    )
    log_time = CONFIG.replace('time = "header"', 'time = "log"')  # the log clock: they overlap at one instant
    assert convert_recording(WorkItem(0, str(recordings / REALSENSE), "rs"),
                             ConvertContext(parse_config(log_time), tmp_path / "log")) is not None
