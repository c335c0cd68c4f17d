"""Does a decoded video show each source frame, or a stale one? Encode, decode, compare.

An encoder may skip a region it judges unchanged and let the decoder repeat the previous frame's pixels
there. Done wrongly, a policy trained on the video sees the past. The *stale-block* metric catches it: the
frame is cut into :data:`BLOCK` x :data:`BLOCK` pixel blocks (grey levels, edge remainders ignored), and a
block of frame ``k`` is **stale** when

* the source changed there: mean absolute difference to source frame ``k - 1`` above
  :data:`CHANGED_LEVELS` (fresh sensor noise of sigma 3 per channel alone gives about 2.3), and
* the decoded block is at least :data:`STALE_RATIO` times closer to source frame ``k - 1`` than to source
  frame ``k`` (mean absolute differences).

Coding noise makes a block blurry, not closer to the previous frame, so a correct encoder scores 0 whatever
its quality; PSNR per frame is reported beside it for quality.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from roboflow.media.encoder import VideoEncoder
from roboflow.media.frames import PixelLayout, to_video_frame
from roboflow.media.settings import VideoSettings

__all__ = ["BLOCK", "CHANGED_LEVELS", "STALE_RATIO", "Fidelity", "measure", "psnr", "stale_blocks"]

#: Block side in pixels.
BLOCK = 32
#: A block changed when its mean absolute grey difference to the previous source frame exceeds this.
CHANGED_LEVELS = 6.0
#: A changed block is stale when it is this many times closer to the previous source frame than to its own.
STALE_RATIO = 2.0

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Fidelity:
    """How faithfully one clip survived encoding and decoding.

    Attributes:
        frames: Frames of the clip (all decoded: a missing frame raises instead).
        changed_blocks: Blocks whose source changed from the previous frame, over all frames.
        stale_blocks: Of those, blocks decoded as the previous frame.
        stale_frames: Frames with at least one stale block.
        min_psnr: Lowest per-frame PSNR in dB (RGB, against the source).
        encode_fps: Frames per second of the encoder alone (colour conversion, encoding, muxing).
        bytes_per_frame: Size of the mp4 divided by the number of frames.
    """

    frames: int
    changed_blocks: int
    stale_blocks: int
    stale_frames: int
    min_psnr: float
    encode_fps: float
    bytes_per_frame: float


def _block_means(grey: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Mean of each whole BLOCK x BLOCK block of a 2-D array."""
    rows, cols = grey.shape[0] // BLOCK, grey.shape[1] // BLOCK
    blocks = grey[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
    return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)


def stale_blocks(previous: Image, current: Image, decoded: Image) -> tuple[int, int]:
    """Stale and changed blocks of one decoded frame (see the module docstring).

    Args:
        previous: Source frame ``k - 1``, RGB ``(H, W, 3)`` uint8.
        current: Source frame ``k``.
        decoded: Frame ``k`` as decoded from the video.

    Returns:
        ``(stale, changed)`` block counts.
    """
    prev, cur, dec = (np.asarray(image, dtype=np.float32) @ _LUMA for image in (previous, current, decoded))
    changed = _block_means(np.abs(cur - prev)) > CHANGED_LEVELS
    to_previous = _block_means(np.abs(dec - prev))
    to_current = _block_means(np.abs(dec - cur))
    stale = changed & (STALE_RATIO * to_previous <= to_current)
    return int(stale.sum()), int(changed.sum())


def psnr(source: Image, decoded: Image) -> float:
    """Peak signal-to-noise ratio in dB over all channels (``inf`` for identical images)."""
    error = float(np.mean((source.astype(np.float32) - decoded.astype(np.float32)) ** 2))
    return float("inf") if error == 0 else 10.0 * float(np.log10(255.0**2 / error))


def _encode(path: Path, frames: Sequence[Image], fps: int, settings: VideoSettings) -> float:
    """Encode RGB frames the way the episode writer does; returns the seconds it took."""
    height, width = frames[0].shape[:2]
    start = time.perf_counter()
    encoder = VideoEncoder(path, width=width, height=height, fps=fps, settings=settings)
    try:
        for frame in frames:
            encoder.encode(to_video_frame(frame, PixelLayout.RGB))
        encoder.close()
    except BaseException:
        encoder.abort()
        raise
    return time.perf_counter() - start


def _decode(path: Path) -> list[Image]:
    with av.open(str(path)) as container:
        return [
            np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            for frame in container.decode(video=0)
        ]


def measure(frames: Sequence[Image], settings: VideoSettings, *, fps: int = 30) -> Fidelity:
    """Encode RGB ``frames`` with ``settings`` through :class:`VideoEncoder`, decode with PyAV, compare.

    Raises:
        ValueError: Fewer than two frames, or the video does not hold as many frames as given.
        DatasetError: The encoder failed.
    """
    if len(frames) < 2:
        raise ValueError("need at least two frames to compare consecutive ones")
    with tempfile.TemporaryDirectory(prefix="roboflow-fidelity-") as tmp:
        path = Path(tmp) / "clip.mp4"
        seconds = _encode(path, frames, fps, settings)
        size = path.stat().st_size
        decoded = _decode(path)
    if len(decoded) != len(frames):
        raise ValueError(f"video holds {len(decoded)} frames, {len(frames)} were encoded")
    counts = [stale_blocks(frames[k - 1], frames[k], decoded[k]) for k in range(1, len(frames))]
    return Fidelity(
        frames=len(frames),
        changed_blocks=sum(changed for _, changed in counts),
        stale_blocks=sum(stale for stale, _ in counts),
        stale_frames=sum(1 for stale, _ in counts if stale),
        min_psnr=min(psnr(source, image) for source, image in zip(frames, decoded, strict=True)),
        encode_fps=len(frames) / seconds,
        bytes_per_frame=size / len(frames),
    )
