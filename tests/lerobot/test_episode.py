"""The episode writer, read back with pyarrow and PyAV: every value, type, frame, timestamp and stat."""

from __future__ import annotations

import math
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.errors import DatasetError
from roboflow.lerobot.episode import EpisodeResult, EpisodeWriter
from roboflow.lerobot.spec import (
    CameraFeature,
    DatasetSpec,
    FlushSettings,
    VectorFeature,
    VideoSettings,
    data_schema,
)
from roboflow.lerobot.stats import QUANTILE_KEYS, feature_stats, image_stats, sample_indices
from roboflow.media.encoder import VideoEncoder
from roboflow.synth.truth import decode_pattern, render_frame

FPS = 10
HEIGHT, WIDTH = 48, 64
X264 = VideoSettings(codec="libx264", preset="ultrafast", crf=18)
CAMERAS = ("observation.images.front", "observation.images.side")


def make_spec(cameras: tuple[CameraFeature, ...] | None = None) -> DatasetSpec:
    return DatasetSpec(
        fps=FPS,
        robot_type="testbot",
        vectors=(
            VectorFeature("observation.state", ("j0", "j1", "j2")),
            VectorFeature("action", ("a0", "a1")),
        ),
        cameras=cameras
        if cameras is not None
        else tuple(CameraFeature(key, HEIGHT, WIDTH) for key in CAMERAS),
    )


def state(k: int) -> np.ndarray:
    return np.array([k * 0.5, -k, math.sin(k)], dtype=np.float64)  # float64 in, float32 stored


def action(k: int) -> np.ndarray:
    return np.array([k % 4, 100.0 + k], dtype=np.float32)


def frame(k: int) -> dict[str, np.ndarray]:
    images = {key: render_frame(k, WIDTH, HEIGHT, camera) for camera, key in enumerate(CAMERAS)}
    return {"observation.state": state(k), "action": action(k), **images}


def task(k: int) -> str:
    return "pick the cube" if k < 8 or k >= 20 else "place it"


def write(
    workdir: Path, length: int, video: VideoSettings = X264, flushing: FlushSettings | None = None
) -> EpisodeResult:
    with EpisodeWriter(
        workdir, make_spec(), video, flushing or FlushSettings(max_frames_per_chunk=7)
    ) as writer:
        for k in range(length):
            writer.add_frame(frame(k), task(k))
        return writer.finish()


def decoded_frames(path: Path) -> tuple[Fraction, list[int], list[np.ndarray]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts, images = [], []
        for decoded in container.decode(stream):
            pts.append(decoded.pts)
            images.append(decoded.to_ndarray(format="rgb24"))
        return Fraction(stream.time_base), pts, images


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> EpisodeResult:
    return write(tmp_path_factory.mktemp("episode"), 25)


def test_result_describes_the_episode(episode: EpisodeResult) -> None:
    assert episode.length == 25
    assert episode.tasks == ("pick the cube", "place it")
    assert episode.spec == make_spec()
    assert set(episode.video_paths) == set(CAMERAS) == set(episode.video_info)
    assert sorted(p.name for p in episode.data_path.parent.iterdir()) == ["data.parquet", "videos"]


def test_rows_have_exact_types_and_values(episode: EpisodeResult) -> None:
    parquet = pq.ParquetFile(episode.data_path)
    assert parquet.metadata.num_row_groups == 4  # 7 + 7 + 7 + 4: written as frames arrived
    table = parquet.read()
    assert table.schema.equals(data_schema(make_spec()), check_metadata=False)
    assert table.schema.field("observation.state").type == pa.list_(pa.float32(), 3)
    assert table.schema.field("timestamp").type == pa.float32()
    columns = table.to_pydict()
    assert columns["frame_index"] == list(range(25))
    assert columns["index"] == list(range(25))
    assert columns["episode_index"] == [0] * 25
    assert columns["task_index"] == [0 if task(k) == "pick the cube" else 1 for k in range(25)]
    timestamps = table.column("timestamp").to_numpy()
    np.testing.assert_array_equal(timestamps, (np.arange(25) / FPS).astype(np.float32))
    assert timestamps.dtype == np.float32
    for k in range(25):
        assert columns["observation.state"][k] == state(k).astype(np.float32).tolist()
        assert columns["action"][k] == action(k).tolist()


def test_videos_have_every_frame_at_k_over_fps(episode: EpisodeResult) -> None:
    for camera, key in enumerate(CAMERAS):
        time_base, pts, images = decoded_frames(episode.video_paths[key])
        assert (1 / time_base) % FPS == 0
        assert len(pts) == 25
        assert [p * time_base for p in pts] == [Fraction(k, FPS) for k in range(25)]
        for k, image in enumerate(images):
            pattern = decode_pattern(image)
            assert (pattern.frame, pattern.camera) == (k, camera)
            error = np.abs(image.astype(np.int16) - render_frame(k, WIDTH, HEIGHT, camera)).mean()
            assert error < 6, (key, k, error)


def test_video_info_comes_from_the_stream(episode: EpisodeResult) -> None:
    for key in CAMERAS:
        assert episode.video_info[key] == {
            "video.height": HEIGHT,
            "video.width": WIDTH,
            "video.codec": "h264",
            "video.pix_fmt": "yuv420p",
            "video.is_depth_map": False,
            "video.fps": FPS,
            "video.channels": 3,
            "has_audio": False,
        }


def test_stats_match_numpy(episode: EpisodeResult) -> None:
    stats = episode.stats
    assert list(stats) == [
        "observation.state", "action", *CAMERAS, "timestamp", "frame_index", "episode_index", "index", "task_index"
    ]  # fmt: skip
    states = np.stack([state(k) for k in range(25)]).astype(np.float32)
    expected = {
        "observation.state": feature_stats(states),
        "action": feature_stats(np.stack([action(k) for k in range(25)])),
        "timestamp": feature_stats((np.arange(25) / FPS).astype(np.float32)),
        "frame_index": feature_stats(np.arange(25)),
        "episode_index": feature_stats(np.zeros(25)),
        "task_index": feature_stats(np.array([0 if task(k) == "pick the cube" else 1 for k in range(25)])),
    }
    for feature, values in expected.items():
        for key, value in values.items():
            np.testing.assert_allclose(
                stats[feature][key], value, rtol=1e-12, atol=1e-15, err_msg=f"{feature} {key}"
            )
    np.testing.assert_allclose(
        stats["observation.state"]["std"], states.astype(np.float64).std(axis=0), rtol=1e-9
    )
    assert stats["timestamp"]["max"].tolist() == [np.float32(2.4).item()]
    for camera, key in enumerate(CAMERAS):
        sampled = np.stack([render_frame(k, WIDTH, HEIGHT, camera) for k in sample_indices(25)])
        reference = image_stats(sampled)
        assert stats[key]["count"].tolist() == [25]
        for name in ("min", "max", "mean", "std", *QUANTILE_KEYS):
            assert stats[key][name].shape == (3, 1, 1)
            np.testing.assert_allclose(stats[key][name], reference[name], rtol=1e-12, err_msg=name)
        pixels = sampled.reshape(-1, 3).astype(np.float64)
        np.testing.assert_allclose(stats[key]["mean"].ravel(), pixels.mean(axis=0) / 255, rtol=1e-12)


@pytest.mark.parametrize(
    ("video", "codec"),
    [(VideoSettings(), "h264"), (VideoSettings(codec="libsvtav1"), "av1")],
    ids=["default", "libsvtav1-default"],
)
def test_codec_defaults(tmp_path: Path, video: VideoSettings, codec: str) -> None:
    result = write(tmp_path, 10, video=video)
    for key in CAMERAS:
        time_base, pts, images = decoded_frames(result.video_paths[key])
        assert [p * time_base for p in pts] == [Fraction(k, FPS) for k in range(10)]
        assert [decode_pattern(image).frame for image in images] == list(range(10))
        assert result.video_info[key]["video.codec"] == codec


def test_gray_and_yuv_input(tmp_path: Path) -> None:
    spec = make_spec(
        (
            CameraFeature("observation.images.gray", HEIGHT, WIDTH, channels=1),
            CameraFeature("observation.images.yuv", HEIGHT, WIDTH),
        )
    )
    with EpisodeWriter(tmp_path, spec, X264) as writer:
        for k in range(12):
            rgb = render_frame(k, WIDTH, HEIGHT, 1)
            yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
            gray = render_frame(k, WIDTH, HEIGHT, 0)[:, :, 0]
            writer.add_frame(
                {
                    "observation.state": state(k),
                    "action": action(k),
                    "observation.images.gray": gray,
                    "observation.images.yuv": yuv,
                },
                "t",
            )
        result = writer.finish()
    _, _, grays = decoded_frames(result.video_paths["observation.images.gray"])
    _, _, colours = decoded_frames(result.video_paths["observation.images.yuv"])
    assert [decode_pattern(image).frame for image in grays] == list(range(12))
    assert [decode_pattern(image).frame for image in colours] == list(range(12))
    for k in (0, 11):
        assert np.abs(colours[k].astype(np.int16) - render_frame(k, WIDTH, HEIGHT, 1)).mean() < 6
        assert np.abs(grays[k].astype(np.int16) - render_frame(k, WIDTH, HEIGHT, 0)[:, :, :1]).mean() < 6
    gray_stats = result.stats["observation.images.gray"]
    assert gray_stats["mean"].shape == (3, 1, 1) and np.ptp(gray_stats["mean"]) == 0
    sampled = np.stack([render_frame(k, WIDTH, HEIGHT, 1) for k in range(12)]).reshape(-1, 3) / 255
    np.testing.assert_allclose(
        result.stats["observation.images.yuv"]["mean"].ravel(), sampled.mean(axis=0), atol=0.01
    )
    assert result.video_info["observation.images.gray"]["video.channels"] == 3


def test_memory_bound_limits_row_groups(tmp_path: Path) -> None:
    result = write(
        tmp_path, 9, flushing=FlushSettings(max_frames_per_chunk=1000, max_memory_bytes=2 * 3 * 60)
    )
    assert pq.ParquetFile(result.data_path).metadata.num_row_groups == 3  # 3 rows of 60 bytes per group


def test_slow_encoder_never_drops_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_encode = VideoEncoder.encode

    def slow_encode(self: VideoEncoder, video_frame: av.VideoFrame) -> None:
        time.sleep(0.01)
        real_encode(self, video_frame)

    monkeypatch.setattr(VideoEncoder, "encode", slow_encode)
    result = write(tmp_path, 30, flushing=FlushSettings(max_memory_bytes=1))  # queue of one frame
    for key in CAMERAS:
        _, pts, images = decoded_frames(result.video_paths[key])
        assert len(pts) == result.length == 30
        assert [decode_pattern(image).frame for image in images] == list(range(30))


def test_exception_inside_aborts_and_removes_files(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="source broke"),
        EpisodeWriter(tmp_path, make_spec(), X264) as writer,
    ):
        for k in range(5):
            writer.add_frame(frame(k), "t")
        raise RuntimeError("source broke")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DatasetError, match="aborted"):
        writer.finish()


def test_leaving_without_finish_aborts(tmp_path: Path) -> None:
    with EpisodeWriter(tmp_path, make_spec(), X264) as writer:
        writer.add_frame(frame(0), "t")
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_surfaces_as_dataset_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_encode = VideoEncoder.encode

    def failing_encode(self: VideoEncoder, video_frame: av.VideoFrame) -> None:
        if self.frames == 3 and self.path.name.startswith("observation.images.side"):
            raise av.error.ValueError(22, "simulated encoder failure")  # a fault we cannot cause for real
        real_encode(self, video_frame)

    monkeypatch.setattr(VideoEncoder, "encode", failing_encode)
    with (
        pytest.raises(DatasetError, match="camera observation.images.side: encoder failed"),
        EpisodeWriter(tmp_path, make_spec(), X264) as writer,
    ):
        for k in range(30):
            writer.add_frame(frame(k), "t")
        writer.finish()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.pop("action"), "missing features action"),
        (lambda f: f.update(extra=np.zeros(1)), "unknown features extra"),
        (lambda f: f.update(action=np.zeros(3)), r"action has shape \(3,\), expected \(2,\)"),
        (lambda f: f.update(action=np.array([0.0, np.nan])), "NaN or infinity"),
        (lambda f: f.update({CAMERAS[0]: np.zeros((HEIGHT, WIDTH), dtype=np.uint16)}), "must be uint8"),
        (
            lambda f: f.update({CAMERAS[0]: np.zeros((HEIGHT, WIDTH + 2, 3), dtype=np.uint8)}),
            "matches no layout",
        ),
        (
            lambda f: f.update({CAMERAS[0]: np.zeros((HEIGHT, WIDTH), dtype=np.uint8)}),
            "grayscale frame for an RGB camera",
        ),
    ],
)
def test_bad_frames_are_refused(tmp_path: Path, change: object, message: str) -> None:
    with EpisodeWriter(tmp_path, make_spec(), X264) as writer:
        writer.add_frame(frame(0), "t")
        bad = frame(1)
        change(bad)  # type: ignore[operator]
        with pytest.raises(DatasetError, match=message):
            writer.add_frame(bad, "t")
        with pytest.raises(DatasetError, match="task must be a non-empty string"):
            writer.add_frame(frame(1), "")
        writer.add_frame(frame(1), "t")  # a refused frame leaves the writer usable
        result = writer.finish()
    assert result.length == 2


def test_empty_episode_and_bad_encoder_settings(tmp_path: Path) -> None:
    with (
        EpisodeWriter(tmp_path / "empty", make_spec(), X264) as writer,
        pytest.raises(DatasetError, match="at least one frame"),
    ):
        writer.finish()
    # The encoder opens on its thread with the first frame; its refusal surfaces in the caller's thread.
    with (
        pytest.raises(
            DatasetError, match=r"camera observation.images.\w+: video encoding failed at frame 0: .*preset"
        ),
        EpisodeWriter(
            tmp_path / "bad", make_spec(), VideoSettings(codec="libx264", preset="no-such")
        ) as writer,
    ):
        for k in range(3):
            writer.add_frame(frame(k), "t")
        writer.finish()
    assert not any((tmp_path / "bad").rglob("*.*"))
