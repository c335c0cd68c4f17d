"""Image stats of a camera whose episode length is not known in advance, in bounded memory.

lerobot samples ``estimate_num_samples(n)`` evenly spaced frames of an n-frame episode, so which frames count
is only known at the end. Each frame's pixel-subsampled pixels (``[::stride, ::stride]``, 160x120 of a
640x480 frame: 57.6 KB) are appended to a spill file on disk as they are (RGB, or the Y, U, V of a yuv420p
frame, as a decoded video camera's); at the end only the sampled ones are read back in batches of at most
:data:`READ_BYTES`, converted to RGB (a fifth to a tenth of the frames: the conversion costs five times the
gathering) and counted, so memory does not depend on how many frames are sampled
(lerobot's ``n**0.75``: 784 frames of a 4-minute episode, 1,548 of a 10-minute one). Copying the subsampled
pixels is the cheapest per-frame work that keeps the result exact (counting every frame's levels costs five
times more CPU). The spill file takes the thumbnail's size per frame on disk (57.6 KB per camera frame of
640x480 or 320x240), no memory.
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
from roboflow.media.frames import PixelLayout, thumbnail, thumbnail_rgb

__all__ = ["READ_BYTES", "FrameSamples"]

#: Sampled pixels read back and counted at a time, at most (one frame when a frame is larger).
READ_BYTES = 4 * 1024 * 1024


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
        self._layouts: list[PixelLayout] = []  # per frame: the colour space of its spilled pixels
        self._file: BinaryIO | None = path.open("wb")

    def add(self, array: np.ndarray, layout: PixelLayout) -> None:
        """Keep the subsampled pixels of the next frame."""
        if self._file is None:
            raise DatasetError("frame samples already closed", path=str(self.path))
        self._file.write(thumbnail(array, layout, self.stride).data)
        self._layouts.append(layout)
        self.count += 1

    def stats(self, read_bytes: int = READ_BYTES) -> FeatureStats:
        """lerobot's image stats over the sampled frames (shape (3, 1, 1), values in [0, 1]).

        Args:
            read_bytes: Sampled pixels read back and counted at a time, at most (at least one frame).
        """
        if self._file is not None:
            self._file.flush()
        if self.count == 0:
            raise DatasetError("no frames to compute image stats from", path=str(self.path))
        frame_bytes = int(np.prod(self.shape))
        indices = sample_indices(self.count)
        batch = np.empty((max(1, read_bytes // frame_bytes), *self.shape), dtype=np.uint8)
        counts = np.zeros((self.shape[2], 256), dtype=np.int64)
        with self.path.open("rb") as spill:
            for start in range(0, len(indices), len(batch)):
                chunk = indices[start:start + len(batch)]
                for row, index in enumerate(chunk):
                    spill.seek(index * frame_bytes)
                    if spill.readinto(memoryview(batch[row]).cast("B")) != frame_bytes:
                        raise DatasetError(f"frame sample {index} is truncated", path=str(self.path))
                    batch[row] = thumbnail_rgb(batch[row], self._layouts[index])
                counts += level_counts(batch[:len(chunk)])
        return image_stats_from_counts(counts, len(indices))

    def close(self) -> None:
        """Delete the spill file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
