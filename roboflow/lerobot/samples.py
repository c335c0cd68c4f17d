"""Image stats of a camera whose episode length is not known in advance, in bounded memory.

lerobot samples ``estimate_num_samples(n)`` evenly spaced frames of an n-frame episode, so which frames count
is only known at the end. Each frame's pixel-subsampled RGB pixels (``[::stride, ::stride]``, 160x120 of a
640x480 frame: 57.6 KB) are appended to a spill file on disk; at the end only the sampled ones are read back
(through a memory map) and counted. Copying the subsampled pixels is the cheapest per-frame work that keeps
the result exact (counting every frame's levels costs five times more CPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from roboflow.errors import DatasetError
from roboflow.lerobot.stats import FeatureStats, image_stats, pixel_stride, sample_indices
from roboflow.media.frames import PixelLayout, rgb_thumbnail

__all__ = ["FrameSamples"]


class FrameSamples:
    """Subsampled RGB pixels of one camera's frames, spilled to ``path``.

    Args:
        path: The spill file (created, replaced if present; removed by :meth:`close`).
        height: Camera frame height.
        width: Camera frame width.
    """

    def __init__(self, path: Path, height: int, width: int) -> None:
        self.path = path
        self.stride = pixel_stride(height, width)
        self.shape = (-(-height // self.stride), -(-width // self.stride), 3)
        self.count = 0
        self._file: BinaryIO | None = path.open("wb")

    def add(self, array: np.ndarray, layout: PixelLayout) -> None:
        """Keep the subsampled pixels of the next frame."""
        if self._file is None:
            raise DatasetError("frame samples already closed", path=str(self.path))
        self._file.write(rgb_thumbnail(array, layout, self.stride).data)
        self.count += 1

    def stats(self) -> FeatureStats:
        """lerobot's image stats over the sampled frames (shape (3, 1, 1), values in [0, 1])."""
        if self._file is not None:
            self._file.flush()
        if self.count == 0:
            raise DatasetError("no frames to compute image stats from", path=str(self.path))
        frames = np.memmap(self.path, dtype=np.uint8, mode="r", shape=(self.count, *self.shape))
        try:
            sampled = np.array(frames[sample_indices(self.count)])
        finally:
            del frames
        return image_stats(sampled)

    def close(self) -> None:
        """Delete the spill file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
