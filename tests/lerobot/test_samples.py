"""Image stats from spilled frame samples: read back in batches, equal to the stats of all sampled frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from roboflow.lerobot.samples import FrameSamples
from roboflow.lerobot.stats import image_stats, sample_indices
from roboflow.media.frames import PixelLayout, thumbnail, thumbnail_rgb


@pytest.mark.parametrize("read_bytes", [1, 3 * 60 * 80 * 3 + 7, 1 << 30], ids=["frame", "three", "all"])
def test_batched_read_back_gives_the_stats_of_the_sampled_frames(tmp_path: Path, read_bytes: int) -> None:
    frames = np.random.default_rng(15).integers(0, 256, size=(1000, 60, 80, 3), dtype=np.uint8)
    frames[::7, :10] = 255  # levels that differ between frames, so a wrong frame changes the result
    samples = FrameSamples(tmp_path / "cam.rgb", 60, 80)
    for frame in frames:
        samples.add(frame, PixelLayout.RGB)
    stats = samples.stats(read_bytes)
    expected = image_stats(frames[sample_indices(1000)])
    assert len(sample_indices(1000)) == 177
    assert stats.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(stats[key], value, err_msg=key)
    samples.close()
    assert not samples.path.exists()


def test_yuv_frames_are_converted_to_rgb_only_when_sampled(tmp_path: Path) -> None:
    rng = np.random.default_rng(16)
    frames = rng.integers(16, 236, size=(300, 90, 80), dtype=np.uint8)  # yuv420p of 60x80
    samples = FrameSamples(tmp_path / "cam.rgb", 60, 80)
    rgb = np.zeros((60, 80, 3), dtype=np.uint8)
    for n, frame in enumerate(frames):  # a camera whose frames come as RGB and as yuv420p
        samples.add(rgb if n % 50 == 0 else frame, PixelLayout.RGB if n % 50 == 0 else PixelLayout.YUV420)
    expected = image_stats(np.stack([
        rgb if k % 50 == 0 else thumbnail_rgb(thumbnail(frames[k], PixelLayout.YUV420, 1), PixelLayout.YUV420)
        for k in sample_indices(300)]))
    stats = samples.stats(read_bytes=7 * 60 * 80 * 3)
    for key, value in expected.items():
        np.testing.assert_array_equal(stats[key], value, err_msg=key)
    samples.close()
