"""Recording sources: MCAP, ROS1 bag, rosbag2 directory, Rerun RRD.

``open_source(path_or_stream)`` detects the format by content and returns a :class:`Source`
(a context manager with ``channels``, ``statistics()`` and ``messages(topics, start, stop)``);
``inspect_recording(path_or_stream)`` summarises one recording as a :class:`RecordingInfo`.
"""

from __future__ import annotations

from roboflow.sources.base import Channel, ChannelStats, RawMessage, RecordingInfo, Schema, Source, TopicInfo
from roboflow.sources.detect import FORMATS, detect_format, find_recordings, is_rosbag2_dir, source_class
from roboflow.sources.info import inspect_recording, summarize
from roboflow.sources.rrd_timelines import Clock
from roboflow.sources.streams import Input

__all__ = [
    "FORMATS",
    "Channel",
    "ChannelStats",
    "Clock",
    "Input",
    "RawMessage",
    "RecordingInfo",
    "Schema",
    "Source",
    "TopicInfo",
    "detect_format",
    "find_recordings",
    "inspect_recording",
    "is_rosbag2_dir",
    "open_source",
    "summarize",
]


def open_source(source: Input, *, name: str | None = None, format: str | None = None,
                clock: Clock | None = None) -> Source:
    """Open a recording.

    Args:
        source: A file or rosbag2 directory path, or a seekable binary stream (e.g. a storage
            backend's reader for ``s3://`` and ``oss://`` objects).
        name: Name used in errors and ``Source.path`` (e.g. the object URL of a stream).
        format: Skip detection and use this key of :data:`FORMATS`.
        clock: For Rerun recordings, the config's choice of timeline (see :mod:`roboflow.sources.rrd_timelines`);
            None (``inspect``) accepts a recording with several candidate timelines.

    Raises:
        SourceError: The recording is missing, empty, of unknown format, or unreadable.
    """
    format_name = format or detect_format(source, name=name)
    if format_name == "rrd":  # the one format with several clocks to choose from
        return source_class(format_name)(source, name=name, clock=clock)
    return source_class(format_name)(source, name=name)
