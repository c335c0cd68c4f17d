"""Frame timing of an mp4 read from its packets (demux only, no decoding).

Validation and merging need to know how many frames a video holds and when each is shown; the packet
headers carry that, so nothing is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from roboflow.errors import DatasetError

__all__ = ["VideoProbe", "probe_video"]


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What the first video stream of a file says about itself.

    Attributes:
        codec: Canonical codec name (``h264``, ``av1``, ``hevc``).
        width: Frame width in pixels.
        height: Frame height in pixels.
        pix_fmt: Pixel format of the stream (``yuv420p``), or None when the container does not say.
        time_base: Unit of ``pts``.
        pts: Presentation timestamps of every frame, sorted, in ``time_base`` units.
    """

    codec: str
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    pts: tuple[int, ...]

    @property
    def frames(self) -> int:
        """Number of frames in the stream."""
        return len(self.pts)

    def times(self) -> list[float]:
        """Presentation time of every frame in seconds."""
        return [float(p * self.time_base) for p in self.pts]


def probe_video(path: Path) -> VideoProbe:
    """Read the frame timing of the first video stream of ``path``.

    Raises:
        DatasetError: The file cannot be opened, has no video stream or is truncated.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DatasetError("has no video stream", path=str(path))
            stream = container.streams.video[0]
            context = stream.codec_context
            time_base = stream.time_base or Fraction(1, 1)
            pts = sorted(
                packet.pts for packet in container.demux(stream) if packet.size and packet.pts is not None
            )
            return VideoProbe(
                codec=context.codec.canonical_name,
                width=context.width,
                height=context.height,
                pix_fmt=context.pix_fmt,
                time_base=Fraction(time_base),
                pts=tuple(pts),
            )
    except av.FFmpegError as err:
        raise DatasetError(f"cannot read video: {err.strerror or err}", path=str(path)) from err
