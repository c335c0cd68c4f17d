"""Rerun numeric entities written by rerun-sdk -> named float32 vectors (Scalars, Tensor, BarChart)."""

from __future__ import annotations

import numpy as np
import pytest

from roboflow.config.model import TopicInput
from roboflow.decode import decoder_for
from roboflow.features.vectors import vector_extractor
from roboflow.sources.rrd import RrdSource
from roboflow.sources.rrd_timelines import Clock


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[tuple[str, ...], list[np.ndarray]]]:
    """Per entity: the names and values its default extractor gives."""
    import rerun as rr

    path = tmp_path_factory.mktemp("rerun-vectors") / "v.rrd"
    recording = rr.RecordingStream("roboflow-tests", recording_id="vectors")
    recording.save(path)
    recording.reset_time()
    recording.log("/robot/joints", rr.SeriesLines(names=["a", "b", "c"]), static=True)
    for k in range(3):
        recording.set_time("time", timestamp=1_700_000_000 + k / 10)
        recording.log("/robot/joints", rr.Scalars([k, k + 0.5, -k]))
        recording.log("/robot/action/gripper", rr.Scalars([k / 4]))
        recording.log("/robot/tensor", rr.Tensor(np.arange(4, dtype=np.int16).reshape(2, 2) * k))
        recording.log("/robot/bars", rr.BarChart(np.array([1.5, k], np.float32)))
    recording.flush()
    recording.disconnect()
    out: dict[str, tuple[tuple[str, ...], list[np.ndarray]]] = {}
    with RrdSource(path, clock=Clock()) as source:
        channels = {ch.topic: ch for ch in source.channels}
        extractors = {topic: vector_extractor(TopicInput(topic), ch.schema.name if ch.schema else "")
                      for topic, ch in channels.items() if topic.startswith("/robot/")}
        values: dict[str, list[np.ndarray]] = {}
        for raw in source.messages(topics=list(extractors)):
            values.setdefault(raw.topic, []).append(
                extractors[raw.topic](decoder_for(raw.channel)(raw.data), raw.log_time))
    for topic, extractor in extractors.items():
        assert extractor.names is not None
        out[topic] = (extractor.names, values[topic])
    return out


def test_scalars_vector_is_named_after_its_entity_and_static_series_names_are_not_rows(vectors: dict) -> None:
    names, values = vectors["/robot/joints"]
    assert names == ("joints_0", "joints_1", "joints_2")
    np.testing.assert_array_equal(np.stack(values), np.array([[k, k + 0.5, -k] for k in range(3)], np.float32))


def test_one_value_scalars_are_named_after_their_entity(vectors: dict) -> None:
    names, values = vectors["/robot/action/gripper"]
    assert names == ("gripper",)
    np.testing.assert_array_equal(np.concatenate(values), np.arange(3, dtype=np.float32) / 4)


def test_tensor_and_bar_chart_values_are_flattened(vectors: dict) -> None:
    names, values = vectors["/robot/tensor"]
    assert names == ("tensor_0", "tensor_1", "tensor_2", "tensor_3")
    np.testing.assert_array_equal(values[2], np.arange(4, dtype=np.float32) * 2)
    names, values = vectors["/robot/bars"]
    assert names == ("bars_0", "bars_1")
    np.testing.assert_array_equal(np.stack(values), np.array([[1.5, k] for k in range(3)], np.float32))


def test_types_list_their_archetypes() -> None:
    from roboflow.features.types import default_fields, image_kind

    assert default_fields("Scalars+SeriesLines") == ("Scalars:scalars",)
    assert default_fields("BarChart") == ("BarChart:values",)
    assert image_kind("DepthImage+Pinhole") == "rerun" and image_kind("Scalars") is None
