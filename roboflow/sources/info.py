"""One recording in a few facts: format, time range, and per topic type, count, rate and image facts.

Counts and time ranges come from each source's ``statistics()`` (the index where the recording
has one), so inspecting a large indexed recording reads little more than its index, the first message of each
camera and of each ROS topic with a header (and the last one of a topic whose first header stamp is off its log
time: a header clock of its own).
The first message of each camera topic is decoded as ``convert`` would, so an undecodable camera shows here.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping
from itertools import islice

from roboflow.errors import SourceError
from roboflow.media.bitstream import codec_of
from roboflow.sources.base import Channel, ChannelStats, RawMessage, RecordingInfo, Source, TopicInfo
from roboflow.sources.stamps import stamp_reader
from roboflow.sources.streams import Input

__all__ = ["CLOCK_TOLERANCE_NS", "IMAGE_TYPES", "VIDEO_TYPES", "inspect_recording", "summarize"]

#: Header stamps further than this from their log times are shown: they come from another clock.
CLOCK_TOLERANCE_NS = 100_000_000

#: Message types whose first message ``inspect`` describes (resolution, pixel encoding or format).
IMAGE_TYPES = frozenset({
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/CompressedImage",
    "foxglove.RawImage",
    "foxglove.CompressedImage",
    "Image",
    "EncodedImage",
    "DepthImage",
})


#: Video camera types: ``inspect`` reads every message for codec, size, rate and keyframe spacing.
VIDEO_TYPES = frozenset({
    "foxglove.CompressedVideo",
    "foxglove_msgs/msg/CompressedVideo",
    "ffmpeg_image_transport_msgs/msg/FFMPEGPacket",
    "VideoStream",
})


def inspect_recording(source: Input, *, name: str | None = None) -> RecordingInfo:
    """Open ``source`` (path, bag directory or seekable stream) and summarise it.

    Raises:
        SourceError: Unreadable, damaged, or empty (no messages).
    """
    from roboflow.sources import open_source

    with open_source(source, name=name) as opened:
        return summarize(opened)


def summarize(source: Source) -> RecordingInfo:
    """The :class:`RecordingInfo` of an open source (see :func:`inspect_recording`)."""
    stats = source.statistics()
    channels = source.channels
    total = sum(stats[ch.id].message_count for ch in channels)
    if not total:
        raise SourceError("recording holds no messages", path=source.path,
                          hint="nothing to convert: check that the recorder subscribed to the topics you need")
    by_topic: dict[str, list[Channel]] = {}
    for channel in channels:
        by_topic.setdefault(channel.topic, []).append(channel)
    static: frozenset[str] = getattr(source, "static_topics", frozenset())  # Rerun entities without time
    topics = tuple(_topic(source, name, group, stats, name in static) for name, group in sorted(by_topic.items()))
    timed = [stats[ch.id] for ch in channels if ch.topic not in static]
    starts = [s.start_time for s in timed if s.start_time is not None]
    ends = [s.end_time for s in timed if s.end_time is not None]
    timelines = getattr(source, "timelines", {})
    return RecordingInfo(source.path, source.format, min(starts, default=None), max(ends, default=None),
                         total, topics, _notes(channels), tuple(timelines.values()), getattr(source, "clock", None))


def _topic(source: Source, topic: str, channels: list[Channel], stats: Mapping[int, ChannelStats],
           static: bool) -> TopicInfo:
    mine = [stats[ch.id] for ch in channels]
    count = sum(s.message_count for s in mine)
    starts = [s.start_time for s in mine if s.start_time is not None]
    ends = [s.end_time for s in mine if s.end_time is not None]
    frequency = None
    if count >= 2 and starts and ends and max(ends) > min(starts):
        frequency = (count - 1) / ((max(ends) - min(starts)) / 1e9)
    types = sorted({ch.schema.name if ch.schema else "(schemaless)" for ch in channels})
    encodings = sorted({ch.message_encoding for ch in channels})
    image = None
    if count and set(types) & VIDEO_TYPES:
        from roboflow.features.video_info import video_facts

        image = video_facts(source, topic, types[0])
    elif count and set(types) & IMAGE_TYPES:
        image = _image_facts(source, topic)
    log_range = (min(starts), max(ends)) if starts and ends else None
    stamped = any(stamp_reader(channel) is not None for channel in channels)  # ROS types starting with a Header
    header_range = _header_range(source, topic, log_range) if count and stamped and not static else None
    return TopicInfo(topic, " | ".join(types), ", ".join(encodings), count, None if static else frequency, image,
                     log_range=log_range, header_range=header_range, static=static)


def _header_range(source: Source, topic: str, log_range: tuple[int, int] | None) -> tuple[int, int] | None:
    """Header stamps of the first and last message of ``topic`` when the first one is off its log time (only then
    is the last message read: on an unindexed recording that is a scan)."""
    first = next(islice(source.messages(topics=[topic]), 1), None)
    if first is None or first.header_stamp is None or log_range is None:
        return None
    if abs(first.header_stamp - first.log_time) <= CLOCK_TOLERANCE_NS:
        return None
    last = next(iter(deque(source.messages(topics=[topic], start=log_range[1]), maxlen=1)), first)
    return first.header_stamp, last.header_stamp if last.header_stamp is not None else first.header_stamp


def _notes(channels: tuple[Channel, ...]) -> tuple[str, ...]:
    undefined = [ch for ch in channels if ch.message_encoding in ("cdr", "ros1") and ch.schema is not None
                 and not ch.schema.encoding]
    if not undefined:
        return ()
    from roboflow.decode.ros import builtin_store_name

    store = builtin_store_name(undefined[0])
    count = f"{len(undefined)} topic has" if len(undefined) == 1 else f"{len(undefined)} topics have"
    return (f"{count} no message definition in the recording; decoding uses rosbags' built-in {store} types",)


def _image_facts(source: Source, topic: str) -> dict[str, object]:
    from roboflow.decode import decoder_for

    first = next(islice(source.messages(topics=[topic]), 1), None)
    if first is None:
        return {}
    try:
        message = decoder_for(first.channel)(first.data)
    except SourceError as err:
        return {"error": err.message}
    fmt = getattr(message, "format", None)
    if isinstance(fmt, str) and codec_of(fmt) is not None:  # a CompressedImage topic carrying video packets
        from roboflow.features.video_info import video_facts

        return video_facts(source, topic, first.channel.schema.name if first.channel.schema else "")
    facts = _facts(message)
    problem = _undecodable(topic, first, message)
    return facts if problem is None else {**facts, "error": problem}


def _undecodable(topic: str, first: RawMessage, message: object) -> str | None:
    """Why ``convert`` could not decode this camera message into a frame (None: it can)."""
    from roboflow.errors import UserError
    from roboflow.features.images import ImageDecoder
    from roboflow.features.types import image_kind

    type_name = first.channel.schema.name if first.channel.schema is not None else ""
    if image_kind(type_name) is None:
        return None
    try:  # any depth_max: depth frames are decodable, what to store is the config's choice
        ImageDecoder(topic, type_name, depth_max=1.0)(message, first.log_time)
    except UserError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - a codec library's own error is as much "cannot decode"
        return f"{topic}: {err}"
    return None


def _facts(message: object) -> dict[str, object]:
    from roboflow.decode import get_field

    if isinstance(message, dict):  # Rerun row
        for archetype in ("Image", "DepthImage"):
            fmt = message.get(f"{archetype}:format")
            if isinstance(fmt, dict):
                from roboflow.features.rerun_images import rerun_encoding

                facts = {"width": fmt.get("width"), "height": fmt.get("height"), "encoding": rerun_encoding(fmt)}
                meter = message.get("DepthImage:meter")
                return facts if meter is None else {**facts, "meter": float(meter[0])}
        media = message.get("EncodedImage:media_type")
        return {"format": media or "unknown", **_compressed_size(message.get("EncodedImage:blob"))}
    if hasattr(message, "width") and hasattr(message, "height") and hasattr(message, "encoding"):
        return {"width": int(get_field(message, "width")), "height": int(get_field(message, "height")),  # type: ignore[call-overload]
                "encoding": str(get_field(message, "encoding"))}
    data = getattr(message, "data", None)
    return {"format": str(getattr(message, "format", "")) or "unknown", **_compressed_size(data)}


def _compressed_size(data: object) -> dict[str, object]:
    """Width and height read from a JPEG or PNG header, when the payload has one."""
    if data is None:
        return {}
    raw = bytes(memoryview(data))  # type: ignore[arg-type]
    if raw.startswith(b"\x89PNG\r\n\x1a\n") and len(raw) >= 24:
        width, height = struct.unpack(">II", raw[16:24])
        return {"codec": "png", "width": width, "height": height}
    if raw.startswith(b"\xff\xd8"):
        import simplejpeg

        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(raw)
        except ValueError:
            return {"codec": "jpeg", "width": None, "height": None}
        return {"codec": "jpeg", "width": width, "height": height}
    return {"codec": "unknown", "width": None, "height": None}
