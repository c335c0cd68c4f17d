"""Episode rules, task topics, concatenated topics and tolerance, on small JSON MCAP recordings written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mcap.writer import Writer
from pipeline_readback import read_dataset

from roboflow.config import parse_config
from roboflow.errors import SourceError, UserError
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import ConvertContext, RunOptions, WorkItem, convert_recording, run_local

MS = 1_000_000
T0 = 1_000 * 1_000_000_000


def write_json_mcap(path: Path, messages: list[tuple[str, int, object]]) -> None:
    """(topic, log time ns, JSON value) messages, written in time order."""
    with path.open("wb") as stream:
        writer = Writer(stream)
        writer.start()
        schema = writer.register_schema("test.Value", "jsonschema", b"{}")
        channels: dict[str, int] = {}
        for topic, time, value in sorted(messages, key=lambda m: m[1]):
            if topic not in channels:
                channels[topic] = writer.register_channel(topic, "json", schema)
            writer.add_message(channels[topic], time, json.dumps(value).encode(), time)
        writer.finish()


def arm(times_ms: range, offset: float = 0.0) -> list[tuple[str, int, object]]:
    return [("/arm", T0 + t * MS, {"q": [t / 1000 + offset, -t / 1000], "label": "x"}) for t in times_ms]


def convert(tmp_path: Path, config_text: str, *recordings: Path, **options: object):  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    report = run_local([str(r) for r in recordings], parse_config(config_text), out, RunOptions(**options))  # type: ignore[arg-type]
    assert validate_dataset(out) == []
    return report, *read_dataset(out)


BASE = """
[dataset]
name = "j"
fps = 10
task = "default task"
[[mappings]]
topic = "/arm"
feature = "observation.state"
mapping_type = "state"
field = "q"
names = ["a", "b"]
"""


def test_gap_split_cuts_episodes_and_short_ones_are_left_out(tmp_path: Path) -> None:
    messages = arm(range(0, 1000, 10)) + arm(range(3000, 3150, 10)) + arm(range(6000, 7000, 10))
    write_json_mcap(tmp_path / "r.mcap", messages)
    config = BASE + '[episodes]\nsplit = "gap"\ngap_s = 0.5\nmin_frames = 3\n'
    report, info, episodes, provenance = convert(tmp_path, config, tmp_path / "r.mcap")
    assert [len(e.rows["index"]) for e in episodes] == [10, 10]  # 0..0.99 s and 6..6.99 s at 10 fps
    (entry,) = provenance["episodes"]
    assert entry["num_episodes"] == 2 and len(entry["alignment"]) == 2
    assert entry["skipped_episodes"][0]["frames_written"] == 2 and "min_frames" in entry["skipped_episodes"][0]["reason"]
    second = np.stack(episodes[1].rows["observation.state"])
    np.testing.assert_allclose(second[:, 0], 6.0 + np.arange(10) / 10, atol=1e-6)
    assert report.results[0].skipped_episodes and info["total_episodes"] == 2


def test_marker_topic_split_and_task_topic(tmp_path: Path) -> None:
    messages = arm(range(0, 2000, 10)) + [
        ("/episode", T0 + 995 * MS, {"data": "new"}),
        ("/task", T0 + 250 * MS, {"data": "pick"}),
        ("/task", T0 + 1500 * MS, {"data": "place"}),
    ]
    write_json_mcap(tmp_path / "r.mcap", messages)
    config = BASE.replace('task = "default task"', 'task = "default task"\ntask_topic = "/task"')
    config += '[episodes]\nsplit = "topic"\ntopic = "/episode"\n'
    _, info, episodes, _ = convert(tmp_path, config, tmp_path / "r.mcap")
    assert [len(e.rows["index"]) for e in episodes] == [10, 10]
    assert episodes[0].tasks == ["default task", "pick"] and episodes[1].tasks == ["pick", "place"]
    assert info["total_tasks"] == 3
    first_tasks = episodes[0].rows["task_index"].tolist()
    assert first_tasks == [0, 0, 0] + [1] * 7  # frames at 0.0, 0.1, 0.2 s come before the task at 0.25 s


def test_several_topics_concatenate_into_one_feature_with_their_own_policies(tmp_path: Path) -> None:
    gripper = [("/gripper", T0 + t * MS, {"width": t / 100}) for t in range(0, 1001, 100)]
    write_json_mcap(tmp_path / "r.mcap", arm(range(0, 1001, 10)) + gripper)
    config = """
[dataset]
name = "c"
fps = 20
[[mappings]]
feature = "observation.state"
mapping_type = "state"
[[mappings.sources]]
topic = "/arm"
field = ["q[1]", "q[0]"]
[[mappings.sources]]
topic = "/gripper"
field = "width"
policy = "interpolate"
"""
    _, info, (episode,), _ = convert(tmp_path, config, tmp_path / "r.mcap")
    assert info["features"]["observation.state"]["names"] == ["q[1]", "q[0]", "width"]
    state = np.stack(episode.rows["observation.state"])
    t = np.arange(len(state)) / 20
    np.testing.assert_allclose(state[:, 1], t, atol=1e-6)
    np.testing.assert_allclose(state[:, 0], -t, atol=1e-6)
    np.testing.assert_allclose(state[:, 2], t * 10, atol=1e-5)  # interpolated between 10 Hz samples


def test_drop_policy_removes_frames_without_a_close_sample(tmp_path: Path) -> None:
    sparse = [("/cam_like", T0 + t * MS, {"v": [t, 1]}) for t in (0, 100, 200, 600, 700, 800, 900)]
    write_json_mcap(tmp_path / "r.mcap", arm(range(0, 1000, 10)) + sparse)
    config = BASE + """
[[mappings]]
topic = "/cam_like"
feature = "observation.v"
mapping_type = "state"
field = "v"
policy = "drop"
tolerance_ms = 20
"""
    _, _, (episode,), provenance = convert(tmp_path, config, tmp_path / "r.mcap")
    values = np.stack(episode.rows["observation.v"])[:, 0].tolist()
    assert values == [0, 100, 200, 600, 700, 800, 900]
    alignment = provenance["episodes"][0]["alignment"][0]
    assert alignment["frames_dropped"] == 3 and alignment["frames_written"] == 7
    assert episode.rows["frame_index"].tolist() == list(range(7))


def test_a_recording_whose_streams_never_overlap_fails_with_a_clear_message(tmp_path: Path) -> None:
    late = [("/late", T0 + 5000 * MS + t * MS, {"v": 1}) for t in range(0, 100, 10)]
    write_json_mcap(tmp_path / "r.mcap", arm(range(0, 1000, 10)) + late)
    config = BASE + '[[mappings]]\ntopic = "/late"\nfeature = "observation.v"\nmapping_type = "state"\nfield = "v"\n'
    with pytest.raises(UserError, match="no recording could be converted"):
        run_local([str(tmp_path / "r.mcap")], parse_config(config), tmp_path / "out", RunOptions())
    report = run_local([str(tmp_path / "r.mcap")], parse_config(BASE), tmp_path / "out2", RunOptions())
    assert report.exit_status == 0


def test_a_text_field_is_refused_naming_topic_and_time(tmp_path: Path) -> None:
    write_json_mcap(tmp_path / "r.mcap", arm(range(0, 300, 10)))
    with pytest.raises(UserError):
        run_local([str(tmp_path / "r.mcap")], parse_config(BASE.replace('field = "q"', 'field = "label"')),
                  tmp_path / "out", RunOptions())
    context = ConvertContext(parse_config(BASE.replace('field = "q"', 'field = "label"')), tmp_path / "staging")
    with pytest.raises(SourceError, match=r"r.mcap: /arm at t=1000.000000 s: field 'label' is not numeric: it is text"):
        convert_recording(WorkItem(0, str(tmp_path / "r.mcap"), "k"), context)
    assert not (tmp_path / "staging" / "k").exists()


def test_foxglove_protobuf_camera_converts_with_json_joints(tmp_path: Path) -> None:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from mcap_protobuf.writer import Writer as ProtobufWriter

    from roboflow.synth.truth import frame_number_from_image, render_frame

    proto = descriptor_pb2.FileDescriptorProto(name="foxglove/RawImage.proto", package="foxglove", syntax="proto3")
    message = proto.message_type.add(name="RawImage")
    kinds = descriptor_pb2.FieldDescriptorProto
    for name, number, kind in (("frame_id", 7, kinds.TYPE_STRING), ("width", 2, kinds.TYPE_FIXED32),
                               ("height", 3, kinds.TYPE_FIXED32), ("encoding", 4, kinds.TYPE_STRING),
                               ("step", 5, kinds.TYPE_FIXED32), ("data", 6, kinds.TYPE_BYTES)):
        message.field.add(name=name, number=number, type=kind, label=kinds.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    raw_image = message_factory.GetMessageClass(pool.FindMessageTypeByName("foxglove.RawImage"))
    path = tmp_path / "fox.mcap"
    with path.open("wb") as stream:
        writer = ProtobufWriter(stream)
        for k in range(10):
            pixels = render_frame(k, 64, 48)
            image = raw_image(width=64, height=48, encoding="rgb8", step=192, data=pixels.tobytes())
            writer.write_message("/camera", image, log_time=T0 + k * 100 * MS, publish_time=T0 + k * 100 * MS)
        writer.finish()
    config = """
[dataset]
name = "fox"
fps = 10
[[mappings]]
topic = "/camera"
feature = "observation.images.camera"
mapping_type = "image"
[video]
codec = "libx264"
preset = "ultrafast"
crf = 10
"""
    _, info, (episode,), _ = convert(tmp_path, config, path)
    assert info["total_frames"] == 10
    assert [frame_number_from_image(f) for f in episode.videos["observation.images.camera"]] == list(range(10))


def test_a_type_without_a_default_vector_lists_its_numeric_fields(tmp_path: Path) -> None:
    write_json_mcap(tmp_path / "r.mcap", arm(range(0, 500, 10)))
    config = BASE.replace('field = "q"\nnames = ["a", "b"]\n', "")
    item = WorkItem(0, str(tmp_path / "r.mcap"), "r")
    with pytest.raises(UserError) as raised:
        convert_recording(item, ConvertContext(parse_config(config), tmp_path / "staging"))
    assert str(raised.value) == (f"{tmp_path / 'r.mcap'}: /arm: type test.Value has no default vector "
                                 "(set field = one or more numeric paths: q[])")
