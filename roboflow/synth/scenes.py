"""Camera clips that make video encoders show stale frames, for :mod:`roboflow.media.fidelity`.

Every clip is a list of RGB ``(height, width, 3)`` uint8 frames, deterministic for a seed. Flat areas whose
brightness changes in place are where encoders go wrong (they skip a block that looks unchanged, and the
decoder repeats the previous frame's pixels); textured, moving content is the easy case, kept as a control.
Sensor noise is Gaussian, drawn anew for every frame, as a real camera's is.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["camera_background", "flat_grid", "flat_region", "textured_pan", "wall_lighting"]

Image = npt.NDArray[np.uint8]
_Float = npt.NDArray[np.float32]


def _texture(
    height: int, width: int, rng: np.random.Generator, weights: tuple[float, float, float]
) -> _Float:
    """Colour blobs at three scales (a quarter of the height, 16 px, 4 px) around zero."""
    image = np.zeros((height, width, 3), dtype=np.float32)
    for block, weight in zip((max(height // 4, 1), 16, 4), weights, strict=True):
        coarse = rng.normal(size=(-(-height // block), -(-width // block), 3)).astype(np.float32)
        image += weight * np.kron(coarse, np.ones((block, block, 1), dtype=np.float32))[:height, :width]
    return image


def _to_image(image: _Float) -> Image:
    return np.asarray(np.clip(np.rint(image), 0, 255), dtype=np.uint8)


def _with_noise(image: _Float, sigma: float, rng: np.random.Generator) -> Image:
    return _to_image(image + rng.normal(scale=sigma, size=image.shape).astype(np.float32))


def camera_background(width: int, height: int, *, seed: int = 0) -> Image:
    """A still, indoor-looking scene: soft colour patches with some texture, warm mean, no noise."""
    rng = np.random.default_rng(seed)
    return _to_image(_texture(height, width, rng, (40.0, 12.0, 6.0)) + np.array([140, 125, 105], np.float32))


def textured_pan(count: int, width: int, height: int, *, seed: int = 0, sigma: float = 2.0) -> list[Image]:
    """A textured scene panning 2 px a frame right and 1 px down; a flat disc crosses it at 6 px a frame."""
    rng = np.random.default_rng(seed)
    scene = _texture(height + count, width + 2 * count, rng, (90.0, 40.0, 20.0)) + 128.0
    rows, cols = np.mgrid[0:height, 0:width]
    radius = height // 10
    frames = []
    for k in range(count):
        view = scene[k // 2 : k // 2 + height, 2 * k : 2 * k + width].copy()
        centre_x = radius + (6 * k) % max(width - 2 * radius, 1)
        centre_y = height // 2 + int(height / 4 * np.sin(k / 10))
        view[(rows - centre_y) ** 2 + (cols - centre_x) ** 2 <= radius**2] = (200.0, 60.0, 40.0)
        frames.append(_with_noise(view, sigma, rng))
    return frames


def flat_region(
    count: int, background: Image, *, x: int, y: int, size: int = 128, sigma: float = 2.0, seed: int = 0
) -> list[Image]:
    """``background`` with a flat grey square whose level jumps by 20 to 160 grey levels every frame.

    Put the square on the encoder's block grid (AV1 superblocks are 64 px: ``x``, ``y`` multiples of 64) to
    hit the case where SVT-AV1's fast presets repeat the previous frame.
    """
    rng = np.random.default_rng(seed)
    base = background.astype(np.float32)
    level = 40
    frames = []
    for _ in range(count):
        level = 40 + (level - 40 + int(rng.integers(20, 161))) % 181  # 40..220, never within 20 of the last
        image = base.copy()
        image[y : y + size, x : x + size] = level
        frames.append(_with_noise(image, sigma, rng))
    return frames


def flat_grid(count: int, *, width: int = 320, height: int = 240, seed: int = 0) -> list[Image]:
    """A 4 x 3 grid of flat black and white cells, some of which flip every frame (no noise)."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 2, size=(3, 4))
    cell = np.ones((-(-height // 3), -(-width // 4)), dtype=np.uint8)
    frames = []
    for _ in range(count):
        flips = rng.integers(0, 2, size=cells.shape)
        flips.flat[rng.integers(flips.size)] = 1  # at least one cell changes
        cells = cells ^ flips
        grey = np.kron(cells.astype(np.uint8) * 255, cell)[:height, :width]
        frames.append(np.repeat(grey[:, :, None], 3, axis=2))
    return frames


def wall_lighting(count: int, width: int, height: int, *, seed: int = 0, sigma: float = 2.0) -> list[Image]:
    """A flat beige wall, shaded left to right, its light ramping between 60% and 100% (~8 grey a frame)."""
    rng = np.random.default_rng(seed)
    shade = np.linspace(0.85, 1.0, width, dtype=np.float32)[None, :, None]
    wall = np.broadcast_to(np.array([200, 175, 120], dtype=np.float32) * shade, (height, width, 3))
    frames = []
    for k in range(count):
        gain = 0.6 + 0.4 * abs((k * 0.1) % 2 - 1)  # triangle wave, period 20 frames
        frames.append(_with_noise(wall * np.float32(gain), sigma, rng))
    return frames
