"""Every output format, written and read back with mcap / mcap_ros2 / rosbags, against the ground truth."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
from mcap.reader import make_reader

from roboflow.errors import ConfigError, StorageError
from roboflow.synth import SynthSpec, stream_times, truth, write_recording
from roboflow.synth.timeline import streams

FORMATS = {"mcap": "rec.mcap", "ros1": "rec.bag", "ros2-sqlite3": "rec_db3", "ros2-mcap": "rec_mcap"}


def _pixels(msg: object) -> np.ndarray:
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)  # type: ignore[attr-defined]
    if hasattr(msg, "format"):
        assert msg.format == "jpeg"
        return simplejpeg.decode_jpeg(data.tobytes(), colorspace="RGB")
    assert msg.encoding == "rgb8"  # type: ignore[attr-defined]
    return data.reshape(msg.height, msg.width, 3)  # type: ignore[attr-defined]


@pytest.fixture(params=list(FORMATS))
def written(request: pytest.FixtureRequest, tmp_path: Path, small_spec: SynthSpec, reader: Callable) -> tuple:
    fmt = request.param
    manifest = write_recording(tmp_path / FORMATS[fmt], small_spec, fmt)
    return fmt, manifest, reader(manifest.path, fmt)


def test_counts_and_types_match_the_spec(written: tuple, small_spec: SynthSpec) -> None:
    fmt, manifest, recording = written
    expected = {
        "/cam_high/image_raw/compressed": 30,
        "/cam_wrist/image_raw": 15,
        "/joint_states": 200,
        "/action": 50,
    }
    assert {topic: len(messages) for topic, messages in recording.items()} == expected
    assert {t.topic: t.count for t in manifest.topics} == expected
    assert manifest.message_count == 295
    assert manifest.format == fmt
    assert manifest.bytes_written > 45 * 64 * 48 * 3 * 0.3


def test_stamps_and_log_times_are_the_timeline(written: tuple, small_spec: SynthSpec) -> None:
    _, manifest, recording = written
    for stream in streams(small_spec):
        stamps, logs = stream_times(small_spec, stream.topic)
        messages = recording[stream.topic]
        assert [m.log_time for m in messages] == logs.tolist()
        if stream.has_header:
            assert [m.stamp for m in messages] == stamps.tolist()
        topic = manifest.topic(stream.topic)
        assert (topic.first_stamp_ns, topic.last_stamp_ns) == (int(stamps[0]), int(stamps[-1]))
        assert (topic.first_log_time_ns, topic.last_log_time_ns) == (int(logs[0]), int(logs[-1]))
        # Strictly increasing, and within one jitter of the nominal period grid.
        period = 1e9 / stream.rate_hz
        assert np.all(np.diff(stamps) > 0) and np.all(np.diff(logs) > 0)
        offsets = stamps - small_spec.start_time_ns - np.round(np.arange(len(stamps)) * period)
        assert offsets.min() >= 0 and offsets.max() < small_spec.jitter * period


def test_joint_states_equal_truth_at_their_header_stamp(written: tuple, small_spec: SynthSpec) -> None:
    _, _, recording = written
    joints = np.arange(small_spec.n_joints)
    for message in recording["/joint_states"]:
        t = truth.seconds(message.stamp, small_spec.start_time_ns)
        assert list(message.msg.name) == [f"joint_{j}" for j in joints]
        np.testing.assert_array_equal(np.asarray(message.msg.position), truth.joint_position(t, joints))
        np.testing.assert_array_equal(np.asarray(message.msg.velocity), truth.joint_velocity(t, joints))
        np.testing.assert_array_equal(np.asarray(message.msg.effort), truth.joint_effort(t, joints))


def test_actions_equal_truth_at_their_log_time(written: tuple, small_spec: SynthSpec) -> None:
    _, _, recording = written
    for message in recording["/action"]:
        assert message.stamp is None
        assert message.msg.layout.dim[0].size == small_spec.n_joints
        t = truth.seconds(message.log_time, small_spec.start_time_ns)
        np.testing.assert_array_equal(
            np.asarray(message.msg.data), truth.action(t, np.arange(small_spec.n_joints))
        )


def test_image_frame_numbers_and_cameras_decode_back(written: tuple, small_spec: SynthSpec) -> None:
    _, _, recording = written
    for index, camera in enumerate(small_spec.cameras):
        messages = recording[camera.topic]
        for k, message in enumerate(messages):
            pixels = _pixels(message.msg)
            assert pixels.shape == (camera.height, camera.width, 3)
            assert truth.decode_pattern(pixels) == truth.FramePattern(k, index, bgr=False)
            assert message.msg.header.frame_id == f"{camera.name}_optical_frame"
            if camera.kind.value == "rgb8":
                np.testing.assert_array_equal(
                    pixels, truth.render_frame(k, camera.width, camera.height, index)
                )


def test_mcap_has_zstd_chunks_ros2msg_schemas_and_statistics(tmp_path: Path, small_spec: SynthSpec) -> None:
    manifest = write_recording(tmp_path / "a.mcap", small_spec)
    with manifest.path.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None and summary.statistics is not None
    assert {ci.compression for ci in summary.chunk_indexes} == {"zstd"}
    assert {s.encoding for s in summary.schemas.values()} == {"ros2msg"}
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}
    assert summary.statistics.message_count == 295


@pytest.mark.parametrize(
    ("fmt", "name", "compression"),
    [
        ("mcap", "a.mcap", "lz4"),
        ("mcap", "a.mcap", "none"),
        ("ros1", "a.bag", "bz2"),
        ("ros1", "a.bag", "lz4"),
        ("ros2-sqlite3", "bag", "zstd-message"),
        ("ros2-sqlite3", "bag", "zstd-file"),
        ("ros2-mcap", "bag", "none"),
        ("ros2-mcap", "bag", "zstd-file"),
    ],
)
def test_compressed_variants_read_back(
    tmp_path: Path, small_spec: SynthSpec, reader: Callable, fmt: str, name: str, compression: str
) -> None:
    spec = SynthSpec(duration_s=0.2, cameras=small_spec.cameras, n_joints=3)
    manifest = write_recording(tmp_path / name, spec, fmt, compression=compression)
    recording = reader(manifest.path, fmt)
    assert {topic: len(messages) for topic, messages in recording.items()} == {
        t.topic: t.count for t in manifest.topics
    }
    assert manifest.compression == compression
    assert truth.frame_number_from_image(_pixels(recording["/cam_high/image_raw/compressed"][5].msg)) == 5


def _digest(path: Path) -> str:
    files = sorted(path.rglob("*.mcap")) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def test_same_seed_same_bytes_other_seed_other_times(tmp_path: Path, small_spec: SynthSpec) -> None:
    first = write_recording(tmp_path / "a.mcap", small_spec)
    again = write_recording(tmp_path / "b.mcap", small_spec)
    assert _digest(first.path) == _digest(again.path)
    other = SynthSpec(**{**_fields(small_spec), "seed": 8})
    reseeded = write_recording(tmp_path / "c.mcap", other)
    assert _digest(reseeded.path) != _digest(first.path)
    assert reseeded.topic("/joint_states").first_stamp_ns != first.topic("/joint_states").first_stamp_ns


def _fields(spec: SynthSpec) -> dict[str, object]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def test_format_is_inferred_from_the_path(tmp_path: Path, small_spec: SynthSpec) -> None:
    spec = SynthSpec(duration_s=0.1, cameras=small_spec.cameras)
    assert write_recording(tmp_path / "x.mcap", spec).format == "mcap"
    assert write_recording(tmp_path / "x.bag", spec).format == "ros1"
    bag = write_recording(tmp_path / "x", spec)
    assert bag.format == "ros2-sqlite3"
    assert sorted(p.name for p in bag.path.iterdir()) == ["metadata.yaml", "x.db3"]
    with pytest.raises(ConfigError, match=r"suffix '\.txt'"):
        write_recording(tmp_path / "x.txt", spec)
    with pytest.raises(ConfigError, match="unknown format 'hdf5'"):
        write_recording(tmp_path / "y.mcap", spec, "hdf5")
    with pytest.raises(ConfigError, match="no compression 'bz2'"):
        write_recording(tmp_path / "y.mcap", spec, compression="bz2")


def test_refuses_to_overwrite_unless_asked(tmp_path: Path, small_spec: SynthSpec) -> None:
    spec = SynthSpec(duration_s=0.1, cameras=small_spec.cameras)
    target = tmp_path / "x.mcap"
    target.write_bytes(b"precious")
    with pytest.raises(StorageError, match=r"x\.mcap: exists already, not overwriting \(pass --overwrite\)"):
        write_recording(target, spec)
    assert target.read_bytes() == b"precious"
    write_recording(target, spec, overwrite=True)
    assert target.read_bytes().startswith(b"\x89MCAP0\r\n")
    folder = tmp_path / "not_a_bag"
    (folder / "keep").mkdir(parents=True)
    with pytest.raises(StorageError, match="not a rosbag2 bag"):
        write_recording(folder, spec, overwrite=True)
    assert (folder / "keep").is_dir()
    bag = write_recording(tmp_path / "bag", spec)
    write_recording(bag.path, spec, "ros2-mcap", overwrite=True)
    assert sorted(p.name for p in bag.path.iterdir()) == ["bag.mcap", "metadata.yaml"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_missing_parent_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="directory does not exist"):
        write_recording(tmp_path / "no" / "x.mcap", SynthSpec(duration_s=0.1))
