"""Image stats of a camera whose episode length is not known in advance, in bounded memory.

lerobot samples ``estimate_num_samples(n)`` evenly spaced frames of an n-frame episode, so which frames count
is only known at the end. Every 8-bit stat of a set of frames follows from how often each level occurs per
channel, and those counts add up; so each frame's pixel-subsampled RGB pixels (``[::stride, ::stride]``) are
reduced to ``(3, 256)`` level counts (3 KiB) appended to a spill file, and at the end the sampled frames'
counts are read back through a memory map and summed.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from roboflow.errors import DatasetError
from roboflow.lerobot.stats import (
    FeatureStats,
    image_stats_from_counts,
    level_counts,
    pixel_stride,
    sample_indices,
)
from roboflow.media.frames import PixelLayout, rgb_thumbnail

__all__ = ["FrameSamples"]

_COUNTS = (3, 256)


class FrameSamples:
    """Level counts of one camera's frames, spilled to ``path``.

    Args:
        path: The spill file (created, replaced if present; removed by :meth:`close`).
        height: Camera frame height.
        width: Camera frame width.
    """

    def __init__(self, path: Path, height: int, width: int) -> None:
        self.path = path
        self.stride = pixel_stride(height, width)
        self.count = 0
        self._file: BinaryIO | None = path.open("wb")

    def add(self, array: np.ndarray, layout: PixelLayout) -> None:
        """Count the levels of the next frame."""
        if self._file is None:
            raise DatasetError("frame samples already closed", path=str(self.path))
        counts = level_counts(rgb_thumbnail(array, layout, self.stride))
        self._file.write(counts.astype(np.uint32).tobytes())
        self.count += 1

    def stats(self) -> FeatureStats:
        """lerobot's image stats over the sampled frames (shape (3, 1, 1), values in [0, 1])."""
        if self._file is not None:
            self._file.flush()
        if self.count == 0:
            raise DatasetError("no frames to compute image stats from", path=str(self.path))
        indices = sample_indices(self.count)
        counts = np.memmap(self.path, dtype=np.uint32, mode="r", shape=(self.count, *_COUNTS))
        try:
            total = counts[indices].sum(axis=0, dtype=np.int64)
        finally:
            del counts
        return image_stats_from_counts(total, len(indices))

    def close(self) -> None:
        """Delete the spill file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
