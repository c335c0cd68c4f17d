"""An array element selected by a field value: the turtle1 transform of the real turtlesim bag's mixed /tf."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pipeline_readback import frame_times, hold_index, read_dataset

from roboflow.config import parse_config
from roboflow.decode import decoder_for
from roboflow.errors import SourceError
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import ConvertContext, RunOptions, WorkItem, convert_recording, run_local
from roboflow.pipeline.progress import summary_table
from roboflow.sources import open_source

TURTLES = "rosbagjs/example.bag"
CONFIG = """
[dataset]
name = "turtles"
fps = 10
[[mappings]]
topic = "/tf"
feature = "observation.state"
mapping_type = "state"
field = "transforms[child_frame_id={child}].transform.translation"
[[mappings]]
topic = "/turtle1/cmd_vel"
feature = "action"
mapping_type = "action"
"""


def _transforms(bag: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per child frame of /tf: its log times and translations, read directly from the recording."""
    found: dict[str, tuple[list[int], list[list[float]]]] = {}
    with open_source(bag) as source:
        for raw in source.messages(["/tf"]):
            for transform in decoder_for(raw.channel)(raw.data).transforms:  # type: ignore[attr-defined]
                times, values = found.setdefault(transform.child_frame_id, ([], []))
                t = transform.transform.translation
                times.append(raw.log_time)
                values.append([t.x, t.y, t.z])
    return {child: (np.array(times), np.array(values)) for child, (times, values) in found.items()}


def test_the_selected_transform_is_the_state_and_other_messages_are_absent(recordings: Path, tmp_path: Path) -> None:
    bag = recordings / TURTLES
    config = parse_config(CONFIG.format(child="turtle1"))
    report = run_local([str(bag)], config, tmp_path / "out", RunOptions())
    assert report.exit_status == 0
    assert "ok, 1344 messages without the selected array element" in summary_table(report, tmp_path / "out")
    assert validate_dataset(tmp_path / "out") == []
    info, (episode,), provenance = read_dataset(tmp_path / "out")
    names = info["features"]["observation.state"]["names"]
    assert names == [f"transforms[child_frame_id=turtle1].transform.translation.{axis}" for axis in "xyz"]
    truth = _transforms(bag)
    assert set(truth) == {"turtle1", "turtle2"}  # /tf alternates the two turtles: transforms[0] would mix them
    times, values = truth["turtle1"]
    alignment = provenance["episodes"][0]["alignment"][0]
    state = np.stack(episode.rows["observation.state"])
    expected = values[hold_index(times, frame_times(alignment, len(state)))]
    np.testing.assert_allclose(state, expected.astype(np.float32))
    assert np.ptp(state[:, 0]) > 1.0  # the turtle moves: the test compares real trajectories
    tf_stream = alignment["streams"][0]
    assert tf_stream["name"] == "/tf -> observation.state"
    assert tf_stream["absent"] == len(truth["turtle2"][0]) == 1344
    assert tf_stream["messages"] == len(times)


def test_no_matching_element_anywhere_says_what_the_messages_have(recordings: Path, tmp_path: Path) -> None:
    context = ConvertContext(parse_config(CONFIG.format(child="base_link")), tmp_path / "staging")
    with pytest.raises(SourceError, match=r"example.bag: no frames: no message on /tf -> observation.state \(2688 "
                                          r"messages had no element transforms\[child_frame_id=base_link\] \(they "
                                          r"have child_frame_id=turtle2, child_frame_id=turtle1\)\)"):
        convert_recording(WorkItem(0, str(recordings / TURTLES), "t"), context)
