"""One recording in a few facts: format, time range, and per topic type, count, rate and image facts.

Counts and time ranges come from each source's ``statistics()`` (the index where the recording
has one), so inspecting a large indexed recording reads little more than its index and the first
message of each image topic.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from itertools import islice

from roboflow.errors import SourceError
from roboflow.media.bitstream import codec_of
from roboflow.sources.base import Channel, ChannelStats, RecordingInfo, Source, TopicInfo
from roboflow.sources.streams import Input

__all__ = ["IMAGE_TYPES", "VIDEO_TYPES", "inspect_recording", "summarize"]

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
    topics = tuple(_topic(source, name, group, stats) for name, group in sorted(by_topic.items()))
    starts = [s.start_time for s in stats.values() if s.start_time is not None]
    ends = [s.end_time for s in stats.values() if s.end_time is not None]
    return RecordingInfo(source.path, source.format, min(starts, default=None), max(ends, default=None),
                         total, topics, _notes(channels))


def _topic(source: Source, topic: str, channels: list[Channel], stats: Mapping[int, ChannelStats]) -> TopicInfo:
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
    fields = None
    if count and image is None and set(encodings) & {"json", "protobuf"}:
        fields = _numeric_fields(source, topic)
    return TopicInfo(topic, " | ".join(types), ", ".join(encodings), count, frequency, image, fields)


def _numeric_fields(source: Source, topic: str) -> tuple[str, ...] | None:
    """The numeric field paths of a topic's first message (arrays as a whole), None if it cannot be decoded."""
    from roboflow.decode import decoder_for
    from roboflow.features.vectors import numeric_paths

    first = next(islice(source.messages(topics=[topic]), 1), None)
    if first is None:
        return None
    try:
        message = decoder_for(first.channel)(first.data)
    except SourceError:
        return None
    paths = [path.removesuffix("[]") for path in numeric_paths(message)]
    return tuple(path for path in paths if "[" not in path)


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
    from roboflow.decode import decoder_for, get_field

    first = next(islice(source.messages(topics=[topic]), 1), None)
    if first is None:
        return {}
    try:
        message = decoder_for(first.channel)(first.data)
    except SourceError as err:
        return {"error": err.message}
    if isinstance(message, dict):  # Rerun row
        if "Image:format" in message and isinstance(message["Image:format"], dict):
            fmt = message["Image:format"]
            return {"width": fmt.get("width"), "height": fmt.get("height"), "encoding": _rerun_encoding(fmt)}
        media = message.get("EncodedImage:media_type")
        return {"format": media or "unknown", **_compressed_size(message.get("EncodedImage:blob"))}
    if hasattr(message, "width") and hasattr(message, "height") and hasattr(message, "encoding"):
        return {"width": int(get_field(message, "width")), "height": int(get_field(message, "height")),  # type: ignore[call-overload]
                "encoding": str(get_field(message, "encoding"))}
    data = getattr(message, "data", None)
    text = str(getattr(message, "format", "")) or "unknown"
    if codec_of(text) is not None:  # a CompressedImage topic carrying video packets
        from roboflow.features.video_info import video_facts

        return video_facts(source, topic, first.channel.schema.name if first.channel.schema else "")
    return {"format": text, **_compressed_size(data)}


def _rerun_encoding(fmt: dict[str, object]) -> str:
    models = {1: "l", 2: "rgb", 3: "rgba", 4: "bgr", 5: "bgra"}
    if fmt.get("color_model") in models:
        return models[fmt["color_model"]]  # type: ignore[index]
    return f"pixel_format {fmt.get('pixel_format')}"


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
