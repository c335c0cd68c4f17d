"""Write a synthetic recording in any supported format, streaming, and describe what was written."""

from __future__ import annotations

import heapq
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from roboflow.errors import ConfigError, RoboflowError, StorageError
from roboflow.synth.content import factory_for
from roboflow.synth.formats import RRD_FORMAT, RecordingWriter, infer_format, writer_class
from roboflow.synth.spec import ImageKind, SynthSpec
from roboflow.synth.timeline import Stream, streams, time_blocks
from roboflow.synth.video import COMPRESSED_VIDEO, add_video_types, serialize_protobuf

__all__ = ["SynthManifest", "TopicManifest", "write_recording"]

_TYPESTORES = {1: Stores.ROS1_NOETIC, 2: Stores.ROS2_HUMBLE}
#: rerun-sdk compresses its chunks with LZ4, always.
_RRD_COMPRESSIONS = ("lz4",)


@dataclass(frozen=True, slots=True)
class TopicManifest:
    """What one topic of a written recording holds."""

    topic: str
    msgtype: str  #: e.g. ``sensor_msgs/msg/JointState``
    count: int
    first_stamp_ns: int  #: header stamp of the first message (log time for headerless topics)
    last_stamp_ns: int
    first_log_time_ns: int
    last_log_time_ns: int


@dataclass(frozen=True, slots=True)
class SynthManifest:
    """A written recording: where, in which format, from which spec, and its topics."""

    path: Path
    format: str
    compression: str
    spec: SynthSpec
    topics: tuple[TopicManifest, ...]
    bytes_written: int  #: size on disk (the sum over a rosbag2 directory's files)
    seconds: float  #: wall time spent writing

    @property
    def message_count(self) -> int:
        """Messages over all topics."""
        return sum(topic.count for topic in self.topics)

    @property
    def mb_per_s(self) -> float:
        """Output megabytes (1e6 bytes) written per second of wall time."""
        return self.bytes_written / 1e6 / max(self.seconds, 1e-9)

    def topic(self, name: str) -> TopicManifest:
        """The manifest of topic ``name``.

        Raises:
            ConfigError: No such topic.
        """
        for topic in self.topics:
            if topic.topic == name:
                return topic
        raise ConfigError(f"no topic {name!r}", path=str(self.path))


def write_recording(
    path: str | os.PathLike[str],
    spec: SynthSpec | None = None,
    format: str | None = None,
    *,
    compression: str | None = None,
    overwrite: bool = False,
) -> SynthManifest:
    """Generate the recording described by ``spec`` at ``path``.

    The recording appears at ``path`` only when complete (it is written next to it and renamed).

    Args:
        path: Output file (``.mcap``, ``.bag``) or rosbag2 directory.
        spec: What to generate; ``SynthSpec()`` by default.
        format: ``mcap``, ``ros1``, ``ros2-sqlite3``, ``ros2-mcap`` or ``rrd``; inferred from ``path`` when None.
        compression: A name from the writer's ``compressions`` (mcap: zstd|lz4|none; ros1: none|bz2|lz4;
            ros2-sqlite3: none|zstd-message|zstd-file; ros2-mcap: zstd|none|zstd-message|zstd-file; rrd: lz4);
            the first is the default.
        overwrite: Replace an existing file (or rosbag2 directory).

    Raises:
        ConfigError: Unknown format or compression.
        StorageError: ``path`` exists (without ``overwrite``) or cannot be written.
    """
    target = Path(path)
    spec = spec if spec is not None else SynthSpec()
    fmt = format or infer_format(target)
    transports = [f"{camera.name}:{camera.kind.value}" for camera in spec.cameras
                  if camera.kind.codec is not None and camera.kind not in _RRD_VIDEO]
    if fmt == RRD_FORMAT and transports:
        raise ConfigError(f"cameras {', '.join(transports)} are ROS video transports, which {fmt} does not have",
                          hint="for a Rerun VideoStream give them the kind h264, h265 or av1")
    cls = writer_class(fmt) if fmt != RRD_FORMAT else None
    compressions = cls.compressions if cls is not None else _RRD_COMPRESSIONS
    compression = compression or compressions[0]
    if compression not in compressions:
        raise ConfigError(
            f"format {fmt} has no compression {compression!r}",
            hint=f"use one of {', '.join(compressions)}",
        )
    _check_target(target, overwrite)
    started = time.perf_counter()
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as err:
        raise StorageError(f"cannot write here: {err.strerror}", path=str(target.parent)) from err
    try:
        staged = staging / target.name
        topics = _write(staged, spec, cls, compression) if cls is not None else _write_rrd(staged, spec)
        size = _size(staged)
        _publish(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return SynthManifest(target, fmt, compression, spec, topics, size, time.perf_counter() - started)


#: The camera kinds written to .rrd as a Rerun ``VideoStream``.
_RRD_VIDEO = frozenset({ImageKind.H264, ImageKind.H265, ImageKind.AV1})


def _write(
    path: Path, spec: SynthSpec, cls: type[RecordingWriter], compression: str
) -> tuple[TopicManifest, ...]:
    typestore = _typestore(cls.ros_version)
    ros_serialize: Callable[[object, str], memoryview]
    ros_serialize = typestore.serialize_ros1 if cls.ros_version == 1 else typestore.serialize_cdr
    all_streams = streams(spec)
    serializers = [
        serialize_protobuf if cls.protobuf_video and s.msgtype == COMPRESSED_VIDEO else ros_serialize
        for s in all_streams
    ]
    factories = [factory_for(spec, stream, typestore) for stream in all_streams]
    tallies = [_Tally() for _ in all_streams]
    try:
        writer = cls(path, compression)
    except (OSError, RuntimeError) as err:  # rosbags' WriterError is a plain Exception subclass
        raise StorageError(f"cannot create: {err}", path=str(path)) from err
    try:
        channels = [writer.add_topic(s.topic, s.msgtype, typestore) for s in all_streams]
        for log_time, index, k, stamp in heapq.merge(
            *(_events(spec, s, i) for i, s in enumerate(all_streams))
        ):
            message = factories[index].build(k, stamp)
            writer.write(channels[index], log_time, serializers[index](message, all_streams[index].msgtype))
            tallies[index].add(stamp, log_time)
        writer.close()
    except RoboflowError:
        writer.abort()
        raise
    except Exception as err:  # rosbags raises WriterError(Exception); mcap raises its own
        writer.abort()
        raise StorageError(f"writing failed: {err}", path=str(path)) from err
    return tuple(tally.manifest(stream) for tally, stream in zip(tallies, all_streams, strict=True))


def _write_rrd(path: Path, spec: SynthSpec) -> tuple[TopicManifest, ...]:
    from roboflow.synth.rrd_writer import write_rrd

    return tuple(TopicManifest(entity, archetype, count, first, last, first, last)
                 for entity, archetype, count, first, last in write_rrd(path, spec))


def _events(spec: SynthSpec, stream: Stream, index: int) -> Iterator[tuple[int, int, int, int]]:
    """(log time, stream index, k, stamp) of every message of ``stream``, in order."""
    k = 0
    for stamps, logs in time_blocks(spec, stream):
        for stamp, log_time in zip(stamps.tolist(), logs.tolist(), strict=True):
            yield log_time, index, k, stamp
            k += 1


@lru_cache(maxsize=2)
def _typestore(ros_version: int) -> Typestore:
    typestore = get_typestore(_TYPESTORES[ros_version])
    add_video_types(typestore)
    return typestore


class _Tally:
    """Counts the messages of one stream and keeps its first and last (stamp, log time)."""

    def __init__(self) -> None:
        self.count = 0
        self.first = self.last = (0, 0)

    def add(self, stamp: int, log_time: int) -> None:
        if not self.count:
            self.first = (stamp, log_time)
        self.last = (stamp, log_time)
        self.count += 1

    def manifest(self, stream: Stream) -> TopicManifest:
        (first_stamp, first_log), (last_stamp, last_log) = self.first, self.last
        return TopicManifest(
            stream.topic, stream.msgtype, self.count, first_stamp, last_stamp, first_log, last_log
        )


def _check_target(target: Path, overwrite: bool) -> None:
    if not target.parent.is_dir():
        raise StorageError("the directory does not exist", path=str(target.parent), hint="create it first")
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise StorageError("exists already, not overwriting", path=str(target), hint="pass --overwrite")
    if target.is_dir() and not (target / "metadata.yaml").is_file():
        raise StorageError(
            "is a directory but not a rosbag2 bag (no metadata.yaml); refusing to replace it",
            path=str(target),
            hint="choose another output path",
        )


def _publish(staged: Path, target: Path) -> None:
    try:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif staged.is_dir() and (target.exists() or target.is_symlink()):
            target.unlink()
        os.replace(staged, target)
    except OSError as err:
        raise StorageError(
            f"cannot move the finished recording into place: {err.strerror}", path=str(target)
        ) from err


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())
    return path.stat().st_size
