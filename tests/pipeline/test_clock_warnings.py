"""An episode placed by the wrong clock gets a one-line warning naming the better one, for every format."""

from __future__ import annotations

from pathlib import Path

from sources.builders import BASE_NS, Msg, image_msg, write_mcap

from roboflow.config import parse_config
from roboflow.pipeline.convert import ConvertContext, ShardResult, convert_recording
from roboflow.pipeline.scan import WorkItem

MAPPING = """
[dataset]
name = "clocks"
fps = {fps}
{time}
[source]
{source}
[[mappings]]
topic = "{topic}"
feature = "{feature}"
mapping_type = "{kind}"
"""


def _convert(tmp_path: Path, recording: Path, topic: str, *, kind: str = "state", fps: int = 30, time: str = "",
             source: str = "") -> ShardResult:
    feature = "observation.images.cam" if kind == "image" else "observation.state"
    config = parse_config(MAPPING.format(fps=fps, time=time, source=source, topic=topic, feature=feature, kind=kind))
    item = WorkItem(index=0, url=str(recording), key="shard")
    return convert_recording(item, ConvertContext(config, tmp_path / "staging"))


def _rrd(path: Path, *, timestamps: bool = True) -> Path:
    """120 rows of /robot/joints 1/30 s apart on the user timelines, logged within milliseconds."""
    import rerun as rr

    recording = rr.RecordingStream("roboflow-tests", recording_id=path.name)
    recording.save(path)
    recording.reset_time()
    for k in range(120):
        recording.set_time("frame_index", sequence=k)
        if timestamps:
            recording.set_time("time", timestamp=1_700_000_000 + k / 30)
        recording.log("/robot/joints", rr.Scalars([k / 10, -k / 10]))
    recording.flush()
    recording.disconnect()
    return path


def test_rrd_placed_by_log_time_names_its_data_timeline(tmp_path: Path) -> None:
    result = _convert(tmp_path, _rrd(tmp_path / "r.rrd"), "/robot/joints", source='timeline = "log_time"')
    (warning,) = result.warnings
    assert result.frames < 10
    assert warning.startswith(f"episode 0: {result.frames} frame(s) from 120 messages of /robot/joints: they span ")
    assert 'on the clock in use ([source] timeline = "log_time") but 3.967 s on another' in warning
    assert warning.endswith('set [source] timeline = "time"')
    assert _convert(tmp_path, tmp_path / "r.rrd", "/robot/joints").warnings == ()  # the default: time, 120 frames


def test_rrd_with_only_a_sequence_timeline_lists_the_timelines(tmp_path: Path) -> None:
    path = _rrd(tmp_path / "r.rrd", timestamps=False)
    result = _convert(tmp_path, path, "/robot/joints")
    (warning,) = result.warnings
    assert result.frames <= 5
    assert "120 messages of /robot/joints spanning 0.0" in warning
    assert "frame_index (sequence), log_time (timestamp)" in warning and "timeline_rate" in warning
    rated = _convert(tmp_path, path, "/robot/joints", source="timeline_rate = 30")
    assert (rated.frames, rated.warnings) == (120, ())


def test_mcap_replayed_offline_names_header_stamps(tmp_path: Path) -> None:
    """Header stamps 0.1 s apart over 4 s, log times 1 ms apart (a replay that wrote as fast as it could)."""
    messages = [Msg("/camera", BASE_NS + k * 1_000_000, image_msg(BASE_NS + k * 100_000_000)) for k in range(40)]
    path = write_mcap(tmp_path / "replayed.mcap", messages, types={"/camera": "sensor_msgs/msg/Image"})
    result = _convert(tmp_path, path, "/camera", kind="image", fps=10)
    (warning,) = result.warnings
    assert warning.startswith(f"episode 0: {result.frames} frame(s) from 40 messages of /camera: they span 0.039 s")
    assert warning.endswith('3.900 s on another; to place them by that one set [dataset] time = "header"')
    by_header = _convert(tmp_path, path, "/camera", kind="image", fps=10, time='time = "header"')
    assert (by_header.frames, by_header.warnings) == (40, ())


def test_a_recording_on_one_clock_has_no_warning(tmp_path: Path) -> None:
    messages = [Msg("/camera", BASE_NS + k * 33_000_000 + 2_000_000, image_msg(BASE_NS + k * 33_000_000))
                for k in range(30)]
    path = write_mcap(tmp_path / "live.mcap", messages, types={"/camera": "sensor_msgs/msg/Image"})
    assert _convert(tmp_path, path, "/camera", kind="image").warnings == ()
