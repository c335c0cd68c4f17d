"""Stale-block metric and PSNR, and the default encoder settings on the flat-region case (real encoders)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roboflow.media.fidelity import BLOCK, measure, psnr, stale_blocks
from roboflow.media.settings import VideoSettings
from roboflow.synth.scenes import camera_background, flat_region


def noisy(image: np.ndarray, seed: int, sigma: float = 3.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(scale=sigma, size=image.shape)
    return np.asarray(np.clip(np.rint(image + noise), 0, 255), dtype=np.uint8)


def test_a_block_decoded_as_the_previous_frame_is_stale() -> None:
    previous = camera_background(4 * BLOCK, 2 * BLOCK)
    current = previous.copy()
    current[:BLOCK, :BLOCK] = 200  # one block changes
    current[BLOCK:, 3 * BLOCK :] = 30  # and another
    decoded = current.copy()
    decoded[:BLOCK, :BLOCK] = previous[:BLOCK, :BLOCK]  # the first one is shown stale
    assert stale_blocks(previous, current, decoded) == (1, 2)
    assert stale_blocks(previous, current, noisy(current, 1)) == (0, 2)  # coding noise is not staleness
    assert stale_blocks(previous, current, previous) == (2, 2)


def test_sensor_noise_alone_is_no_change() -> None:
    still = camera_background(8 * BLOCK, 6 * BLOCK)
    assert stale_blocks(noisy(still, 1), noisy(still, 2), noisy(still, 1)) == (0, 0)


def test_psnr() -> None:
    image = camera_background(64, 48)
    assert psnr(image, image) == math.inf
    shifted = image.astype(np.int16) + np.where(image < 128, 5, -5)  # every sample off by 5
    assert psnr(image, shifted.astype(np.uint8)) == pytest.approx(20 * math.log10(255 / 5))


@pytest.mark.parametrize(
    "settings", [VideoSettings(), VideoSettings(codec="libsvtav1")], ids=["default", "libsvtav1-default"]
)
def test_defaults_show_no_stale_block_on_a_flat_region(settings: VideoSettings) -> None:
    # lerobot's libsvtav1 preset 12 decodes every inter frame of this clip's square as the previous frame
    frames = flat_region(20, camera_background(256, 192), x=64, y=64)
    result = measure(frames, settings)
    assert result.frames == 20
    assert result.changed_blocks == 16 * 19  # the 4x4 blocks of the square, in every frame but the first
    assert (result.stale_blocks, result.stale_frames) == (0, 0)
    assert result.min_psnr > 30
