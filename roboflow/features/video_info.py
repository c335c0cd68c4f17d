"""What ``inspect`` shows of a video camera topic: codec, size, frame rate, keyframe spacing, lead-in.

Every message of the topic is read (video topics are small; nothing but the first keyframe is decoded, for
its size): keyframes come from the bitstream (:func:`~roboflow.media.bitstream.is_keyframe`).
"""

from __future__ import annotations

import statistics
from itertools import pairwise
from typing import Any

import av

from roboflow.decode import decoder_for
from roboflow.errors import SourceError
from roboflow.features.video import video_packet
from roboflow.media.bitstream import DECODERS, is_keyframe
from roboflow.media.packets import open_decoder
from roboflow.sources.base import Source

__all__ = ["video_facts"]


def video_facts(source: Source, topic: str, type_name: str) -> dict[str, Any]:
    """``codec``, ``width``, ``height``, ``fps``, ``keyframe_interval`` (typical: the median, and ``_max``, in
    frames), ``keyframes`` and ``before_first_keyframe`` (messages that yield no image) of a video topic."""
    keyframes: list[int] = []
    times: list[int] = []
    codec: str | None = None
    size: tuple[int, int] | None = None
    decoders: dict[int, Any] = {}
    for raw in source.messages(topics=[topic]):
        decode = decoders.get(raw.channel.id)
        if decode is None:
            decode = decoders[raw.channel.id] = decoder_for(raw.channel)
        try:
            codec, data = video_packet(decode(raw.data), type_name)
        except SourceError as err:
            return {"error": err.message}
        if codec not in DECODERS:
            return {"format": codec or "unknown", "codec": "unknown", "width": None, "height": None}
        if is_keyframe(codec, data):
            keyframes.append(len(times))
            if size is None:
                size = _size(codec, data)
        times.append(raw.log_time)
    intervals = [b - a for a, b in pairwise(keyframes)]
    span = (times[-1] - times[0]) / 1e9 if len(times) > 1 else 0.0
    return {
        "format": codec, "codec": codec,
        "width": size[0] if size else None, "height": size[1] if size else None,
        "fps": round((len(times) - 1) / span, 3) if span > 0 else None,
        "keyframes": len(keyframes),
        "keyframe_interval": round(statistics.median(intervals)) if intervals else None,
        "keyframe_interval_max": max(intervals) if intervals else None,
        "before_first_keyframe": keyframes[0] if keyframes else len(times),
    }


def _size(codec: str, data: bytes) -> tuple[int, int] | None:
    """Width and height of a keyframe, decoded."""
    context = open_decoder(codec)
    try:
        frames = context.decode(av.Packet(data)) + context.decode(None)
    except av.FFmpegError:
        return None
    return (frames[0].width, frames[0].height) if frames else None
