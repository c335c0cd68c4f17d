"""The Rerun format of the synthetic recording, read back with rerun-sdk's own chunk reader, against the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import simplejpeg

from roboflow.synth import SynthSpec, stream_times, truth, write_recording
from roboflow.synth.rrd_writer import DEPTH_SCALE

from .conftest import SMALL_SPEC


def _read(path: Path) -> dict[str, dict[str, list]]:
    """entity -> column -> values over its temporal rows (static rows under the key ``static``)."""
    import rerun.chunk

    out: dict[str, dict[str, list]] = {}
    for chunk in rerun.chunk.RrdReader(str(path)).stream():
        batch = chunk.to_record_batch()
        columns = out.setdefault(chunk.entity_path, {})
        key = None if "log_time" in batch.schema.names else "static"
        for name in batch.schema.names:
            if name == "rerun.controls.RowId":
                continue
            values = batch.column(name)
            if pa.types.is_timestamp(values.type):
                values = values.cast(pa.int64())
            columns.setdefault(key or name, []).extend(values.to_pylist() if key is None else [name])
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSpec, dict[str, dict[str, list]], object]:
    spec = SynthSpec(duration_s=1.0, cameras=SMALL_SPEC.cameras, n_joints=3)
    manifest = write_recording(tmp_path_factory.mktemp("synth-rrd") / "rec.rrd", spec)
    return spec, _read(manifest.path), manifest


def test_entities_times_and_counts(written: tuple) -> None:
    spec, entities, manifest = written
    assert manifest.format == "rrd" and manifest.compression == "lz4"
    cam_high, cam_wrist = (camera.name for camera in spec.cameras)
    expected = {f"/camera/{cam_high}": "/cam_high/image_raw/compressed", f"/camera/{cam_wrist}": "/cam_wrist/image_raw",
                "/camera/depth": "/cam_high/image_raw/compressed", "/robot/joints": "/joint_states",
                **{f"/robot/action/joint_{c}": "/action" for c in range(3)}}
    for entity, topic in expected.items():
        stamps, logs = stream_times(spec, topic)
        assert entities[entity]["time"] == (logs if topic == "/action" else stamps).tolist(), entity
        assert manifest.topic(entity).count == len(stamps)
        assert entities[entity]["log_time"][0] > stamps[-1]  # logged offline, now: log_time is not the data's clock
    assert {"Asset3D:blob"} <= set(entities["/robot/urdf"]["static"])
    assert "SeriesLines:names" in entities["/robot/joints"]["static"]


def test_values_are_the_ground_truth(written: tuple) -> None:
    _, entities, _ = written
    stamps = np.array(entities["/robot/joints"]["time"])
    joints = np.array(entities["/robot/joints"]["Scalars:scalars"])
    np.testing.assert_array_equal(joints, truth.joint_positions(truth.seconds(stamps), 3))
    for c in range(3):
        times = np.array(entities[f"/robot/action/joint_{c}"]["time"])
        values = np.array(entities[f"/robot/action/joint_{c}"]["Scalars:scalars"])[:, 0]
        np.testing.assert_array_equal(values, truth.action(truth.seconds(times), c))


def test_frames_show_their_number(written: tuple) -> None:
    spec, entities, _ = written
    jpeg_camera, raw_camera = spec.cameras
    for k, blob in enumerate(entities[f"/camera/{jpeg_camera.name}"]["EncodedImage:blob"]):
        image = simplejpeg.decode_jpeg(bytes(blob[0]), colorspace="RGB")
        assert truth.decode_pattern(image) == truth.FramePattern(k, 0, False)
    for k, buffer in enumerate(entities[f"/camera/{raw_camera.name}"]["Image:buffer"]):
        image = np.array(buffer[0], np.uint8).reshape(raw_camera.height, raw_camera.width, 3)
        np.testing.assert_array_equal(image, truth.render_frame(k, raw_camera.width, raw_camera.height, 1))
    for k, buffer in enumerate(entities["/camera/depth"]["DepthImage:buffer"]):
        depth = np.array(buffer[0], np.uint8).view(np.uint16).reshape(jpeg_camera.height, jpeg_camera.width)
        gray = truth.render_frame(k, jpeg_camera.width, jpeg_camera.height).mean(axis=2).round()
        np.testing.assert_array_equal(depth, gray * DEPTH_SCALE)
