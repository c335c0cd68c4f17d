"""Image stats of a camera stored as video, from decoded sample frames.

Two ways to choose the frames, both lerobot's number of them (:func:`~roboflow.lerobot.stats.sample_indices`):

* :attr:`Sampling.EVEN`, lerobot's own: evenly spaced over the episode. A delta frame needs every frame of its
  GOP before it, so this decodes the episode up to its last sampled frame: nearly every frame when keyframes
  are further apart than the samples (lerobot samples 276 of 1,800 frames; a camera's GOP is often 30).
* :attr:`Sampling.GOP_LEADING`: the first frames of the GOPs, which decode from their keyframe alone. Every
  keyframe's frame first (spread evenly over the GOPs when there are more GOPs than samples), then every GOP's
  second frame, and so on until there are enough: only the sampled frames are decoded, and only their sampled
  pixels converted to RGB (:func:`~roboflow.media.frames.video_frame_thumbnail`, within a level or two of
  FFmpeg's conversion). Consecutive frames look alike, so the result is within a few hundredths of the stats of
  every frame; used for cameras whose packets are copied, where decoding every frame would cost more than the
  copy itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from itertools import chain

import av
import av.container
import av.video.stream
import numpy as np

from roboflow.errors import DatasetError
from roboflow.lerobot.stats import (
    FeatureStats,
    estimate_num_samples,
    image_stats_from_counts,
    level_counts,
    pixel_stride,
    sample_indices,
    spaced_indices,
)
from roboflow.lerobot.videocat import VideoSlice
from roboflow.media.frames import video_frame_thumbnail
from roboflow.media.probe import open_video

__all__ = ["Sampling", "VideoStats", "gop_leading_indices", "video_stats"]


class Sampling(Enum):
    """Which frames of a video image stats come from (both: lerobot's number of frames)."""

    EVEN = "even"
    GOP_LEADING = "gop_leading"


@dataclass(frozen=True, slots=True)
class VideoStats:
    """Image stats of a video and what it took.

    Attributes:
        stats: lerobot's image stats of the sampled frames (shape (3, 1, 1), ``count`` = sampled frames).
        frames: The sampled frames, numbered from the piece's first.
        decoded: Frames decoded to get them.
    """

    stats: FeatureStats
    frames: tuple[int, ...]
    decoded: int


def gop_leading_indices(keyframes: Sequence[int], length: int) -> list[int]:
    """lerobot's number of sample frames of ``length`` frames, taken from the start of each GOP.

    Args:
        keyframes: Ascending frame numbers of the keyframes, the first 0.
        length: Number of frames.

    Returns:
        Ascending frame numbers: round ``k`` takes the ``k``-th frame of every GOP that long (of evenly
        spaced ones in the last round, when fewer are missing than there are such GOPs).
    """
    starts = list(keyframes)
    if not starts or starts[0] != 0:
        raise DatasetError(f"GOP sampling needs a keyframe at frame 0, got keyframes {starts[:3]}")
    ends = [*starts[1:], length]
    missing = estimate_num_samples(length)
    chosen: list[int] = []
    offset = 0
    while missing:
        open_gops = [gop for gop, (start, end) in enumerate(zip(starts, ends, strict=True)) if start + offset < end]
        if missing < len(open_gops):
            open_gops = [open_gops[i] for i in spaced_indices(len(open_gops), missing)]
        chosen.extend(starts[gop] + offset for gop in open_gops)
        missing -= len(open_gops)
        offset += 1
    return sorted(chosen)


def video_stats(piece: VideoSlice, shape: Sequence[int], fps: int, sampling: Sampling = Sampling.EVEN) -> VideoStats:
    """Image stats of the frames of ``piece`` (``shape`` is the camera's ``[H, W, C]``).

    GOP sampling counts frames in decoding order (the display order of a stream without B-frames, such as a
    camera's), so that the packets fed to the decoder are always the first ones of their GOP.

    Raises:
        DatasetError: The video cannot be decoded, lacks sampled frames, or (GOP sampling) does not start
            with a keyframe.
    """
    stride = pixel_stride(shape[0], shape[1])
    counts = np.zeros((3, 256), dtype=np.int64)  # levels of the sampled frames, counted as they are decoded
    sampled: list[int] = []
    decoded = 0
    with open_video(piece.path) as (container, stream):
        base = Fraction(stream.time_base or Fraction(1, 1))
        packets = _packets(container, stream, piece, fps, base)
        if sampling is Sampling.EVEN:
            wanted = set(sample_indices(piece.length))
        else:  # every decoded frame is a sampled one
            keyframes = [position for position, packet in enumerate(packets) if packet.is_keyframe]
            fed = set(gop_leading_indices(keyframes, piece.length))
            packets = (packet for position, packet in enumerate(_packets(container, stream, piece, fps, base))
                       if position in fed)
            wanted = set(range(piece.length))
        decoder = stream.codec_context
        # lerobot's own sampling converts the frames as lerobot does; GOP sampling, an estimate anyway, converts
        # only the sampled pixels
        thumbnail_of = _strided_rgb if sampling is Sampling.EVEN else video_frame_thumbnail
        for packet in chain(packets, [None]):  # None flushes the decoder
            try:
                frames = decoder.decode(packet)
            except av.FFmpegError as err:
                raise DatasetError(f"cannot decode video for stats: {err}", path=str(piece.path)) from err
            for frame in frames:
                decoded += 1
                number = None if frame.pts is None else round(frame.pts * base * fps) - piece.start
                if number in wanted:
                    wanted.remove(number)
                    sampled.append(number)
                    counts += level_counts(thumbnail_of(frame, stride))
    expected = estimate_num_samples(piece.length)
    if len(sampled) != expected:
        raise DatasetError(f"{expected - len(sampled)} sampled frames missing", path=str(piece.path))
    return VideoStats(image_stats_from_counts(counts, expected), tuple(sorted(sampled)), decoded)


def _strided_rgb(frame: av.VideoFrame, stride: int) -> np.ndarray:
    rgb: np.ndarray = frame.to_ndarray(format="rgb24")
    return rgb[::stride, ::stride]


def _packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, piece: VideoSlice, fps: int,
    base: Fraction,
) -> Iterator[av.Packet[av.video.stream.VideoStream]]:
    """The packets of ``piece``'s frames, in decoding order (seeks when iterated)."""
    container.seek(int(Fraction(piece.start, fps) / base), stream=stream, backward=True, any_frame=False)
    stop = Fraction(piece.start + piece.length, fps)
    for packet in container.demux(stream):
        if not packet.size or packet.pts is None:
            continue
        if packet.dts is not None and packet.dts * base >= stop:
            break  # dts <= pts: every later packet is shown after the piece
        if 0 <= round(packet.pts * base * fps) - piece.start < piece.length:
            yield packet
