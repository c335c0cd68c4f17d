"""Image stats of a video: lerobot's evenly spaced frames, or as many frames from the starts of the GOPs
(a copied camera's), which decode alone and give nearly the stats of every frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from roboflow.errors import DatasetError
from roboflow.lerobot.stats import estimate_num_samples, image_stats, sample_indices, spaced_indices
from roboflow.lerobot.videocat import VideoSlice
from roboflow.lerobot.videostats import Sampling, gop_leading_indices, video_stats

LENGTH, GOP = 600, 30
HEIGHT, WIDTH = 96, 128


def _write_camera_video(path: Path) -> list[np.ndarray]:
    """A camera-like h264 mp4 (a keyframe every GOP frames, no B-frames) whose content brightens over time;
    its frames as decoded."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={
            "preset": "ultrafast", "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0:bframes=0"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for k in range(LENGTH):
            image = rng.integers(0, 64, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
            image[: HEIGHT // 2, : WIDTH // 2] = (k * 255 // (LENGTH - 1), 128, 255 - k * 255 // (LENGTH - 1))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_gop_sampling_decodes_only_the_sampled_frames_and_is_close_to_all_frames(tmp_path: Path) -> None:
    frames = _write_camera_video(tmp_path / "cam.mp4")
    assert len(frames) == LENGTH
    piece = VideoSlice(tmp_path / "cam.mp4", 0, LENGTH)
    result = video_stats(piece, (HEIGHT, WIDTH, 3), 30, Sampling.GOP_LEADING)
    count = estimate_num_samples(LENGTH)
    assert count == 121
    assert result.decoded == len(result.frames) == count  # 121 of 600 frames decoded
    assert result.frames == tuple(gop_leading_indices(range(0, LENGTH, GOP), LENGTH))
    assert result.stats["count"].tolist() == [count]
    exact = image_stats(np.stack([frames[k] for k in result.frames]))
    for key, value in exact.items():  # the sampled frames are the ones counted (their pixels converted apart)
        np.testing.assert_allclose(result.stats[key], value, atol=2 / 255 if key != "count" else 0, err_msg=key)
    every = image_stats(np.stack(frames))
    assert result.stats.keys() == every.keys()
    # the content brightens steadily through each GOP: its first frames miss the brightest levels of its end
    # (levels near black differ by up to 3 of 255 from FFmpeg's conversion: q01 within 0.02)
    for key, atol in {"mean": 0.01, "std": 0.01, "q01": 0.02, "q10": 0.01, "q50": 0.01, "q90": 0.05, "q99": 0.05,
                      "min": 0.05, "max": 0.05}.items():
        assert result.stats[key].shape == (3, 1, 1)
        np.testing.assert_allclose(result.stats[key], every[key], atol=atol, err_msg=key)


def test_even_sampling_is_lerobots_and_decodes_every_frame(tmp_path: Path) -> None:
    frames = _write_camera_video(tmp_path / "cam.mp4")
    result = video_stats(VideoSlice(tmp_path / "cam.mp4", 0, LENGTH), (HEIGHT, WIDTH, 3), 30)
    assert result.frames == tuple(sample_indices(LENGTH))
    assert result.decoded == LENGTH
    expected = image_stats(np.stack([frames[k] for k in sample_indices(LENGTH)]))
    for key, value in expected.items():
        np.testing.assert_array_equal(result.stats[key], value, err_msg=key)


def test_gop_leading_indices_fill_gops_round_by_round() -> None:
    # 4 GOPs of 30, 100 samples: frames 0-24 of each
    assert gop_leading_indices([0, 30, 60, 90], 120) == [start + k for start in (0, 30, 60, 90) for k in range(25)]
    # 2 GOPs of 60 and 40, 100 samples: every frame
    assert gop_leading_indices([0, 60], 100) == list(range(100))
    # 20 GOPs of 30, 121 samples: frames 0-5 of every GOP, and frame 6 of one
    chosen = gop_leading_indices(range(0, 600, 30), 600)
    assert len(chosen) == 121
    assert sorted({k % 30 for k in chosen}) == list(range(7))
    # every frame a keyframe: lerobot's own evenly spaced frames
    assert gop_leading_indices(range(1000), 1000) == spaced_indices(1000, 177) == sample_indices(1000)
    # one GOP: its first frames
    assert gop_leading_indices([0], 1000) == list(range(177))
    # GOPs of uneven length: the short ones run out first
    chosen = gop_leading_indices([0, 2, 200], 300)
    assert len(chosen) == 100 and chosen[:2] == [0, 1] and set(chosen) <= set(range(300))


def test_gop_sampling_needs_a_keyframe_first() -> None:
    with pytest.raises(DatasetError, match="needs a keyframe at frame 0"):
        gop_leading_indices([5, 35], 60)
