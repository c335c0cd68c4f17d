"""Output formats of the generator: a registry of writer classes, imported on first use."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import ClassVar, Protocol

from rosbags.typesys.store import Typestore

from roboflow.errors import ConfigError

__all__ = ["FORMATS", "FORMAT_NAMES", "RRD_FORMAT", "RecordingWriter", "infer_format", "writer_class"]


class RecordingWriter(Protocol):
    """Writes serialized messages to one recording; created by ``cls(path, compression)``.

    ``path`` does not exist yet. ``close()`` finishes a complete recording; ``abort()`` releases what
    was opened after a failure (the caller removes the partial output).
    """

    #: 1: messages serialized as ROS1; 2: as CDR.
    ros_version: ClassVar[int]
    #: Accepted compression names; the first is the default.
    compressions: ClassVar[tuple[str, ...]]
    #: Whether foxglove CompressedVideo is written as foxglove's protobuf message (else as a ROS message).
    protobuf_video: ClassVar[bool]

    def __init__(self, path: Path, compression: str) -> None: ...

    def add_topic(self, topic: str, msgtype: str, typestore: Typestore) -> int:
        """Register a topic; returns the channel to write its messages to."""
        ...

    def write(self, channel: int, log_time_ns: int, data: memoryview) -> None:
        """Append one serialized message (in log-time order)."""
        ...

    def close(self) -> None:
        """Finish the recording (summary, indexes, metadata)."""
        ...

    def abort(self) -> None:
        """Close files after a failure without finishing them."""
        ...


#: format name -> "module:Class".
FORMATS: dict[str, str] = {
    "mcap": "roboflow.synth.mcap_writer:McapWriter",
    "ros1": "roboflow.synth.ros1_writer:Ros1Writer",
    "ros2-sqlite3": "roboflow.synth.ros2_writer:Ros2SqliteWriter",
    "ros2-mcap": "roboflow.synth.ros2_writer:Ros2McapWriter",
}
#: The Rerun format: logged with rerun-sdk (:mod:`roboflow.synth.rrd_writer`), not through a RecordingWriter.
RRD_FORMAT = "rrd"
#: Every format ``write_recording`` writes.
FORMAT_NAMES = (*FORMATS, RRD_FORMAT)
_SUFFIXES = {".mcap": "mcap", ".bag": "ros1", ".rrd": RRD_FORMAT}
#: The format of an output path without suffix (a rosbag2 directory).
DIRECTORY_FORMAT = "ros2-sqlite3"


def writer_class(fmt: str) -> type[RecordingWriter]:
    """The writer class of format ``fmt``.

    Raises:
        ConfigError: Unknown format.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    module, _, name = FORMATS[fmt].partition(":")
    cls: type[RecordingWriter] = getattr(importlib.import_module(module), name)
    return cls


def infer_format(path: Path) -> str:
    """The format implied by ``path``: ``.mcap`` -> mcap, ``.bag`` -> ros1, ``.rrd`` -> rrd, no suffix -> rosbag2.

    Raises:
        ConfigError: The suffix implies no format.
    """
    if path.suffix in _SUFFIXES:
        return _SUFFIXES[path.suffix]
    if not path.suffix or path.is_dir():
        return DIRECTORY_FORMAT
    raise ConfigError(
        f"cannot tell the format from the suffix {path.suffix!r}",
        path=str(path),
        hint="use .mcap, .bag, .rrd, a directory name without suffix, or --format",
    )
