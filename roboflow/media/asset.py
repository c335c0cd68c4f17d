"""Frames of a video file held in memory (a Rerun ``AssetVideo``), by presentation time.

Rerun's ``VideoFrameReference`` names the frame of an asset video "closest to this timestamp". References usually
go forward, so :class:`AssetVideo` decodes forward from where it is and seeks back (to the keyframe before) only
when a reference goes back; the container's own decoder is used (it has the codec parameters of the file).
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import av

from roboflow.errors import SourceError

__all__ = ["AssetVideo"]

_NS = 1_000_000_000


class AssetVideo:
    """One video file's frames by time (ns from the start of its presentation timeline).

    Args:
        data: The file's bytes (MP4, as Rerun takes them).

    Raises:
        SourceError: The bytes are not a video FFmpeg reads.
    """

    def __init__(self, data: bytes) -> None:
        try:
            self._container: Any = av.open(io.BytesIO(data))
            self._stream: Any = self._container.streams.video[0]
        except (av.FFmpegError, IndexError) as err:
            raise SourceError(f"the AssetVideo is not a video FFmpeg reads: {err}",
                              hint="log the video as MP4 (AssetVideo's media type video/mp4)") from err
        self._base = Fraction(self._stream.time_base or Fraction(1, _NS)) * _NS
        self._frames: Any = None
        self._previous: tuple[int, av.VideoFrame] | None = None
        self._next: tuple[int, av.VideoFrame] | None = None

    def frame(self, time_ns: int) -> av.VideoFrame:
        """The frame closest to ``time_ns`` (a tie goes to the earlier one; past the end: the last frame).

        Raises:
            SourceError: The video does not decode.
        """
        if self._frames is None or (self._previous is not None and time_ns < self._previous[0]):
            self._seek(time_ns)
        try:
            while self._next is None or self._next[0] < time_ns:
                if self._next is not None:
                    self._previous = self._next
                frame = next(self._frames, None)
                if frame is None:
                    break
                self._next = (round(frame.pts * self._base), frame)
        except av.FFmpegError as err:
            raise SourceError(f"the AssetVideo does not decode at {time_ns / 1e9:.6f} s: {err}",
                              hint="the video is damaged") from err
        candidates = [c for c in (self._previous, self._next) if c is not None]
        if not candidates:
            raise SourceError("the AssetVideo has no frames")
        return min(candidates, key=lambda c: (abs(c[0] - time_ns), c[0]))[1]

    def _seek(self, time_ns: int) -> None:
        """Restart decoding at the keyframe at or before ``time_ns``."""
        self._container.seek(max(0, int(time_ns / self._base)), stream=self._stream, backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        self._previous = self._next = None
