"""Dataset spec, info.json features block, parquet schema, settings validation and path templates."""

from __future__ import annotations

import pyarrow as pa
import pytest

from roboflow.errors import ConfigError, DatasetError
from roboflow.lerobot import layout
from roboflow.lerobot.spec import (
    CameraFeature,
    DatasetSpec,
    FlushSettings,
    VectorFeature,
    VideoSettings,
    data_schema,
    info_features,
)

FRONT_INFO = {
    "video.height": 48,
    "video.width": 64,
    "video.codec": "av1",
    "video.pix_fmt": "yuv420p",
    "video.is_depth_map": False,
    "video.fps": 10,
    "video.channels": 3,
    "has_audio": False,
}


def make_spec() -> DatasetSpec:
    return DatasetSpec(
        fps=10,
        robot_type="testbot",
        vectors=(
            VectorFeature("observation.state", ("j0", "j1", "j2")),
            VectorFeature("action", ("j0", "j1", "j2")),
        ),
        cameras=(CameraFeature("observation.images.front", height=48, width=64),),
    )


def test_info_features_is_lerobots_block_in_order() -> None:
    features = info_features(make_spec(), {"observation.images.front": FRONT_INFO})
    assert features == {
        "observation.state": {"dtype": "float32", "shape": [3], "names": ["j0", "j1", "j2"]},
        "action": {"dtype": "float32", "shape": [3], "names": ["j0", "j1", "j2"]},
        "observation.images.front": {
            "dtype": "video",
            "shape": [48, 64, 3],
            "names": ["height", "width", "channels"],
            "info": FRONT_INFO,
        },
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "index": {"dtype": "int64", "shape": [1], "names": None},
        "task_index": {"dtype": "int64", "shape": [1], "names": None},
    }
    assert list(features) == [
        "observation.state", "action", "observation.images.front",
        "timestamp", "frame_index", "episode_index", "index", "task_index",
    ]  # fmt: skip
    assert list(features["observation.images.front"]["info"]) == list(FRONT_INFO)


def test_info_features_copies_and_requires_video_info() -> None:
    info = dict(FRONT_INFO)
    features = info_features(make_spec(), {"observation.images.front": info})
    features["timestamp"]["shape"].append(2)
    features["observation.images.front"]["info"]["video.fps"] = 99
    assert info_features(make_spec(), {"observation.images.front": info})["timestamp"]["shape"] == [1]
    assert info["video.fps"] == 10
    with pytest.raises(DatasetError, match="no video info for camera 'observation.images.front'"):
        info_features(make_spec(), {})


def test_gray_camera_is_stored_with_three_channels() -> None:
    assert CameraFeature("observation.images.gray", 48, 64, channels=1).shape == (48, 64, 3)


def test_data_schema_types() -> None:
    schema = data_schema(make_spec())
    assert schema.names == [
        "observation.state", "action", "timestamp", "frame_index", "episode_index", "index", "task_index"
    ]  # fmt: skip
    assert schema.field("observation.state").type == pa.list_(pa.float32(), 3)
    assert pa.types.is_fixed_size_list(schema.field("action").type)
    assert schema.field("timestamp").type == pa.float32()
    for name in ("frame_index", "episode_index", "index", "task_index"):
        assert schema.field(name).type == pa.int64()


def test_one_element_vector_is_a_scalar_column_with_shape_one() -> None:
    spec = DatasetSpec(fps=10, vectors=(VectorFeature("observation.gripper", ("width",)),))
    assert data_schema(spec).field("observation.gripper").type == pa.float32()
    assert info_features(spec, {})["observation.gripper"] == {
        "dtype": "float32",
        "shape": [1],
        "names": ["width"],
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: VectorFeature("a/b", ("x",)), "must not contain '/'"),
        (lambda: VectorFeature("timestamp", ("x",)), "reserved"),
        (lambda: VectorFeature("action", ()), "no element names"),
        (lambda: CameraFeature("cam", 48, 63), "even width and height"),
        (lambda: CameraFeature("cam", 48, 64, channels=4), "only 3"),
        (lambda: CameraFeature("depth", 48, 64, channels=1, is_depth=True), "depth camera"),
        (lambda: DatasetSpec(fps=0), "positive integer"),
        (lambda: DatasetSpec(fps=29.97), "positive integer"),  # type: ignore[arg-type]
        (
            lambda: DatasetSpec(
                fps=10, vectors=(VectorFeature("a", ("x",)),), cameras=(CameraFeature("a", 2, 2),)
            ),
            "appear twice: a",
        ),
    ],
)
def test_spec_rejects(build: object, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        build()  # type: ignore[operator]


def test_video_settings_defaults() -> None:
    settings = VideoSettings()  # the fastest setting without stale frames in bench/fidelity.py
    assert (settings.codec, settings.gop, settings.pix_fmt) == ("libx264", 2, "yuv420p")
    assert settings.encoder_options() == {"g": "2", "crf": "23", "preset": "veryfast"}
    assert settings.spec.canonical == "h264"
    assert VideoSettings(codec="av1").encoder_options() == {"g": "2", "crf": "30", "preset": "8"}
    lerobot = VideoSettings(codec="libsvtav1", preset="12")  # lerobot 0.4's encoder settings
    assert lerobot.encoder_options() == {"g": "2", "crf": "30", "preset": "12"}
    assert VideoSettings(codec="hevc").encoder_options() == {"g": "2", "x265-params": "log-level=error"}
    x264 = VideoSettings(codec="h264", crf=18, preset="veryfast", gop=None, threads=2)
    assert x264.spec.encoder == "libx264"
    assert x264.encoder_options() == {"crf": "18", "preset": "veryfast", "threads": "2"}
    assert VideoSettings(codec="libsvtav1", threads=1).encoder_options()["svtav1-params"] == "lp=1"
    assert VideoSettings(codec="hevc").spec.encoder == "libx265"
    assert VideoSettings(preset=8).preset == "8"  # type: ignore[arg-type]  # TOML gives an int


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codec": "mjpeg"}, "unknown video codec 'mjpeg'"),
        ({"pix_fmt": "yuv444p"}, "yuv420p"),
        ({"crf": 99}, "between 0 and 63"),
        ({"gop": 0}, "gop must be at least 1"),
        ({"threads": 0}, "threads must be at least 1"),
    ],
)
def test_video_settings_reject(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VideoSettings(**kwargs)  # type: ignore[arg-type]


def test_flush_settings() -> None:
    assert FlushSettings() == FlushSettings(max_frames_per_chunk=1000, max_memory_bytes=2147483648)
    with pytest.raises(ConfigError, match="max_frames_per_chunk"):
        FlushSettings(max_frames_per_chunk=0)


def test_layout_paths() -> None:
    assert layout.data_path(0, 3) == "data/chunk-000/file-003.parquet"
    assert (
        layout.video_path("observation.images.front", 1, 0)
        == "videos/observation.images.front/chunk-001/file-000.mp4"
    )
    assert layout.episodes_path(0, 0) == "meta/episodes/chunk-000/file-000.parquet"
    assert layout.next_chunk_file(0, 998) == (0, 999)
    assert layout.next_chunk_file(0, 999) == (1, 0)
    assert layout.next_chunk_file(2, 1, chunks_size=2) == (3, 0)
    assert layout.v21_data_path(1234) == "data/chunk-001/episode_001234.parquet"
    assert layout.v21_video_path("cam", 7) == "videos/chunk-000/cam/episode_000007.mp4"
    assert layout.DEFAULT_DATA_PATH == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert layout.DEFAULT_VIDEO_PATH == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    assert layout.V21_DATA_PATH == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    assert (
        layout.V21_VIDEO_PATH
        == "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    )
