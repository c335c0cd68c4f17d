"""Join frame ranges of mp4 files into one mp4 by stream copy (no re-encoding).

Frames are identified by number: frame ``k`` of a source is the one shown at ``k / fps`` (its pts rounded to
the frame grid). Appended frames get exact new timestamps: the ``n``-th frame of the output is shown at
``n / fps``, written in the time base ``1 / (fps * 1024)`` (lerobot's), so ``from_timestamp = n0 / fps`` is
exact for every episode, however many precede it. Each appended range must start on a keyframe, which holds
for every episode encoded on its own. The output has its index at the front, as the encoder's
(:data:`~roboflow.media.encoder.MP4_OPTIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream

from roboflow.errors import DatasetError
from roboflow.media.encoder import MP4_OPTIONS
from roboflow.media.probe import open_video

__all__ = ["StreamParams", "VideoJoiner", "VideoSlice", "stream_params"]

#: Output ticks per frame: the time base is ``1 / (fps * TICKS_PER_FRAME)``.
TICKS_PER_FRAME = 1024


@dataclass(frozen=True, slots=True)
class VideoSlice:
    """Frames ``start .. start + length - 1`` of the first video stream of ``path``."""

    path: Path
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What must be equal for two streams to share one mp4 without re-encoding."""

    codec: str
    width: int
    height: int
    pix_fmt: str | None
    extradata: bytes


def _params(stream: av.video.stream.VideoStream) -> StreamParams:
    context = stream.codec_context
    return StreamParams(
        context.codec.canonical_name,
        context.width,
        context.height,
        context.pix_fmt,
        bytes(context.extradata or b""),
    )


def stream_params(path: Path) -> StreamParams:
    """Codec parameters of the first video stream of ``path``.

    Raises:
        DatasetError: The file cannot be read or has no video stream.
    """
    with open_video(path) as (_, stream):
        return _params(stream)


class VideoJoiner:
    """Writes one mp4 out of frame ranges of other mp4s, frame ``n`` at exactly ``n / fps``.

    Args:
        path: The mp4 to write; created on the first :meth:`append`, complete after :meth:`close`.
        fps: Frame rate of every source and of the output.
    """

    def __init__(self, path: Path, fps: int) -> None:
        self.path = path
        self.fps = fps
        self.time_base = Fraction(1, fps * TICKS_PER_FRAME)
        self.frames = 0
        self.bytes = 0
        self.params: StreamParams | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None

    def append(self, piece: VideoSlice) -> int:
        """Copy the frames of ``piece`` to the end of the output.

        Returns:
            The output frame number of the piece's first frame (its ``from_timestamp`` is that over fps).

        Raises:
            DatasetError: The source cannot be read, has other codec parameters than the output, lacks some
                of the frames, or the range does not start on a keyframe.
        """
        position = self.frames
        try:
            with av.open(str(piece.path)) as source:
                copied = self._copy(source, piece, position)
        except av.FFmpegError as err:
            raise DatasetError(f"cannot copy video frames: {err}", path=str(piece.path)) from err
        if copied != piece.length:
            raise DatasetError(
                f"has {copied} frames in {piece.start}..{piece.start + piece.length - 1}, expected {piece.length}",
                path=str(piece.path),
            )
        self.frames += piece.length
        return position

    def _copy(self, source: av.container.InputContainer, piece: VideoSlice, position: int) -> int:
        if not source.streams.video:
            raise DatasetError("has no video stream", path=str(piece.path))
        stream = source.streams.video[0]
        params = _params(stream)
        output = self._output(stream, params)
        if params != self.params:
            raise DatasetError(
                "codec parameters differ from the video it is appended to", path=str(piece.path)
            )
        source_base = Fraction(stream.time_base or Fraction(1, 1))
        start, stop = Fraction(piece.start, self.fps), Fraction(piece.start + piece.length, self.fps)
        if piece.start:
            source.seek(int(start / source_base), stream=stream, backward=True, any_frame=False)
        shift = Fraction(position - piece.start, self.fps)
        seen: set[int] = set()
        for packet in source.demux(stream):
            if not packet.size or packet.pts is None:
                continue
            if packet.dts is not None and packet.dts * source_base >= stop:
                break  # dts <= pts: every later packet is shown after the range
            frame = round(packet.pts * source_base * self.fps)
            if not piece.start <= frame < piece.start + piece.length:
                continue
            if not seen and not packet.is_keyframe:
                raise DatasetError(
                    f"frame {frame} starts a range but is not a keyframe", path=str(piece.path)
                )
            if frame in seen:
                raise DatasetError(f"frame {frame} appears twice", path=str(piece.path))
            seen.add(frame)
            dts = None if packet.dts is None else round((packet.dts * source_base + shift) / self.time_base)
            packet.stream = output
            packet.time_base = self.time_base
            packet.pts = (frame - piece.start + position) * TICKS_PER_FRAME
            packet.dts = dts
            packet.duration = TICKS_PER_FRAME
            self.bytes += packet.size
            assert self._container is not None
            self._container.mux(packet)
        return len(seen)

    def _output(
        self, template: av.video.stream.VideoStream, params: StreamParams
    ) -> av.video.stream.VideoStream:
        if self._stream is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(self.path), "w", format="mp4", container_options=dict(MP4_OPTIONS))
            # opaque: reuse the source's codec object; a decoder such as libdav1d has no encoder of that name,
            # and remuxing encodes nothing
            self._stream = self._container.add_stream_from_template(template, opaque=True)
            self._stream.time_base = self.time_base
            self.params = params
        return self._stream

    def close(self) -> None:
        """Write the mp4 trailer; idempotent."""
        if self._container is not None:
            try:
                self._container.close()
            except av.FFmpegError as err:
                raise DatasetError(f"cannot finish video: {err}", path=str(self.path)) from err
            self._container = None
