"""The info.json ``info`` block of a camera, read from its real video stream (lerobot's ``get_video_info``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import av.container
import av.video.stream

from roboflow.errors import DatasetError

__all__ = ["open_video", "pixel_channels", "video_frame_count", "video_info"]


def pixel_channels(pix_fmt: str) -> int:
    """Channels of a pixel format, by lerobot's rule (``yuv420p`` -> 3)."""
    if "gray" in pix_fmt or "depth" in pix_fmt or "monochrome" in pix_fmt:
        return 1
    if "rgba" in pix_fmt or "yuva" in pix_fmt:
        return 4
    if "rgb" in pix_fmt or "yuv" in pix_fmt:
        return 3
    raise DatasetError(f"unknown pixel format {pix_fmt!r}")


@contextmanager
def open_video(path: Path) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """The open container of ``path`` and its first video stream.

    An FFmpeg failure while the block runs (opening, demuxing) is raised as a DatasetError too.

    Raises:
        DatasetError: The file cannot be read or has no video stream.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DatasetError("has no video stream", path=str(path))
            yield container, container.streams.video[0]
    except av.FFmpegError as err:
        raise DatasetError(f"cannot read video: {err}", path=str(path)) from err


def video_info(path: Path) -> dict[str, Any]:
    """The ``info`` block of a video feature, keys in lerobot's order.

    ``video.codec`` is the stream's canonical codec name (``av1``, ``h264``, ``hevc``), ``video.fps`` the
    stream's base rate as an int; ``video.is_depth_map`` is always false (depth is not stored).

    Raises:
        DatasetError: The file cannot be read or has no video stream.
    """
    with open_video(path) as (container, stream):
        pix_fmt = stream.codec_context.pix_fmt
        info: dict[str, Any] = {
            "video.height": stream.codec_context.height,
            "video.width": stream.codec_context.width,
            "video.codec": stream.codec_context.codec.canonical_name,
            "video.pix_fmt": pix_fmt,
            "video.is_depth_map": False,
            "video.fps": int(stream.base_rate or 0),
            "video.channels": pixel_channels(pix_fmt or ""),
            "has_audio": bool(container.streams.audio),
        }
    return info


def video_frame_count(path: Path) -> int:
    """Number of frames of the first video stream: the container's count (the mp4 sample table) when it has
    one, else counted from the packets (no decoding either way).

    Raises:
        DatasetError: The file cannot be read or has no video stream.
    """
    with open_video(path) as (container, stream):
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)
