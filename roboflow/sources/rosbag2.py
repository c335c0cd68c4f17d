"""ROS2 bag directories: ``metadata.yaml`` + ``.db3`` or ``.mcap`` storage files.

The storage files are the truth; ``metadata.yaml`` is only a hint (file order, ROS distro, the
expected message count). rosbags' ``Reader`` filters messages through the QoS profiles written in
``metadata.yaml`` and silently yields nothing when they differ from those in the storage files;
here every storage file is read directly (SQLite with the ``sqlite3`` module, MCAP with
:class:`~roboflow.sources.mcap.McapSource`), so that cannot happen. Handled: split files (with or
without ``metadata.yaml``), message-level zstd (detected per payload by the zstd magic, which a
CDR payload can never start with), file-level zstd (``.db3.zstd``/``.mcap.zstd``, decompressed to
a temporary file), and a single storage file given alone (path or stream; SQLite needs a real
file, so a stream is spooled to a temporary file).
"""

from __future__ import annotations

import heapq
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import yaml
import zstandard

from roboflow.decode.ros import DISTRO_KEY, KNOWN_DISTROS
from roboflow.errors import SourceError, one_line
from roboflow.sources.base import Channel, ChannelStats, ClosingSource, RawMessage
from roboflow.sources.rosbag2_base import Storage
from roboflow.sources.rosbag2_storage import open_storage
from roboflow.sources.stamps import StampReader, stamp_reader
from roboflow.sources.streams import Input, describe, spool

__all__ = ["STORAGE_SUFFIXES", "Rosbag2Source", "storage_files"]

log = logging.getLogger(__name__)

STORAGE_SUFFIXES = (".db3", ".mcap", ".db3.zstd", ".mcap.zstd")
#: Serialization formats of rosbag2 messages that roboflow decodes.
SERIALIZATIONS = frozenset({"cdr"})
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_VERSION_DISTROS = {1: "foxy", 2: "foxy", 3: "foxy", 4: "foxy", 5: "humble", 6: "iron", 7: "iron", 8: "jazzy"}


def storage_files(directory: Path) -> list[Path]:
    """The storage files of a bag directory, in split order (``name_2`` before ``name_10``)."""
    files = [path for path in directory.iterdir() if path.is_file() and path.name.endswith(STORAGE_SUFFIXES)]
    return sorted(files, key=lambda path: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)])


class Rosbag2Source(ClosingSource):
    """A rosbag2 directory, or one rosbag2 storage file (path or seekable stream).

    Args:
        source: Bag directory, its ``metadata.yaml``, one storage file, or a stream of one.
        name: Name used in errors and ``path``.

    Raises:
        SourceError: No storage files, a listed file is missing, a file is unreadable, or
            ``metadata.yaml`` promises messages the storage files do not hold.
    """

    format = "rosbag2"

    def __init__(self, source: Input, *, name: str | None = None) -> None:
        self.path = describe(source, name)
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._storages: list[Storage] = []
        try:
            files, metadata = self._locate(source)
            self._storages = [open_storage(path, self._label(path), self._scratch) for path in files]
            self._distro = _distro(metadata, self._storages)
            self._unify()
            self._check_serialization()
            self._check_against(metadata)
        except BaseException:
            self.close()
            raise

    # --- opening -------------------------------------------------------------------------------

    def _scratch(self) -> Path:
        if self._tempdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="roboflow-rosbag2-")
        return Path(self._tempdir.name)

    def _label(self, path: Path) -> str:
        root = Path(self.path)
        return str(root / path.name) if root.is_dir() else self.path

    def _locate(self, source: Input) -> tuple[list[Path], dict[str, object] | None]:
        if not isinstance(source, (str, os.PathLike)):
            return [_spool_stream(source, self._scratch())], None
        path = Path(source)
        if path.name == "metadata.yaml" and path.is_file():
            path = path.parent
        if not path.exists():
            raise SourceError("no such file or directory", path=self.path, hint="check the path")
        if not path.is_dir():
            return [path], None
        metadata = _read_metadata(path / "metadata.yaml", self.path)
        files = storage_files(path)
        if not files:
            raise SourceError("no rosbag2 storage files (.db3, .mcap) in the directory", path=self.path,
                              hint="pass a rosbag2 bag directory or a recording file")
        listed = (metadata or {}).get("relative_file_paths")
        present = {file.name for file in files}
        for entry in listed if isinstance(listed, list) else []:
            entry_name = Path(str(entry)).name
            if not {entry_name, entry_name + ".zstd", entry_name.removesuffix(".zstd")} & present:
                raise SourceError(f"metadata.yaml lists {entry_name}, which is missing", path=self.path,
                                  hint="copy the whole bag directory, including every split file")
        return files, metadata

    def _unify(self) -> None:
        """One Channel per (topic, type, encoding) across split files."""
        self._channels: dict[int, Channel] = {}
        self._local: list[dict[int, Channel]] = []
        keys: dict[tuple[str, str, str], Channel] = {}
        for storage in self._storages:
            local = {}
            for topic in storage.topics():
                key = (topic.topic, topic.schema.name if topic.schema else "", topic.message_encoding)
                channel = keys.get(key)
                if channel is None:
                    metadata = dict(topic.metadata)
                    if self._distro:
                        metadata[DISTRO_KEY] = self._distro
                    channel = Channel(len(keys) + 1, topic.topic, topic.message_encoding, topic.schema, metadata)
                    keys[key] = channel
                    self._channels[channel.id] = channel
                local[topic.id] = channel
            self._local.append(local)
        self._stamps: dict[int, StampReader | None] = {cid: stamp_reader(ch) for cid, ch in self._channels.items()}

    def _check_serialization(self) -> None:
        """Refuse serialization formats rosbag2 cannot deserialize, as ``ros2 bag`` does."""
        unsupported = sorted({ch.message_encoding for ch in self._channels.values()} - SERIALIZATIONS)
        if unsupported:
            topics = sorted(ch.topic for ch in self._channels.values() if ch.message_encoding in unsupported)
            raise SourceError(
                f"unsupported serialization format {', '.join(map(repr, unsupported))} on {', '.join(topics)}",
                path=self.path, hint="rosbag2 recordings must be CDR-serialized; re-record with a DDS or Zenoh RMW",
            )

    def _check_against(self, metadata: dict[str, object] | None) -> None:
        info = metadata or {}
        expected = info.get("message_count")
        if not isinstance(expected, int):
            return
        found = sum(stats.message_count for stats in self.statistics().values())
        if expected and not found:
            raise SourceError(f"metadata.yaml lists {expected} messages but the storage files hold none",
                              path=self.path, hint="the storage files are empty or not the ones this bag recorded")
        if expected != found:
            log.warning("%s: metadata.yaml lists %d messages, the storage files hold %d; reading the storage files",
                        self.path, expected, found)

    # --- reading ------------------------------------------------------------------------------

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._channels.values())

    def statistics(self) -> Mapping[int, ChannelStats]:
        totals = {cid: ChannelStats(0, None, None) for cid in self._channels}
        for storage, local in zip(self._storages, self._local, strict=True):
            for topic_id, stats in storage.statistics().items():
                cid = local[topic_id].id
                totals[cid] = _add(totals[cid], stats)
        return totals

    def messages(
        self, topics: Iterable[str] | None = None, start: int | None = None, stop: int | None = None
    ) -> Iterator[RawMessage]:
        """Yield messages of ``topics`` (all when None) with ``start <= log_time < stop``, in log-time order."""
        names = None if topics is None else set(topics)
        streams = [
            self._file_messages(storage, local, names, start, stop)
            for storage, local in zip(self._storages, self._local, strict=True)
        ]
        yield from heapq.merge(*streams, key=lambda message: message.log_time)

    def _file_messages(self, storage: Storage, local: dict[int, Channel], names: set[str] | None,
                       start: int | None, stop: int | None) -> Iterator[RawMessage]:
        ids = None if names is None else [tid for tid, ch in local.items() if ch.topic in names]
        if ids is not None and not ids:
            return
        stamps = self._stamps
        for topic_id, log_time, data in storage.messages(ids, start, stop):
            channel = local[topic_id]
            if data[:4] == ZSTD_MAGIC:
                data = _decompress(data, storage.name)
            stamp = stamps[channel.id]
            yield RawMessage(channel, log_time, data, stamp(data) if stamp else None)

    def close(self) -> None:
        """Close every storage file and remove temporary files. Idempotent."""
        storages, self._storages = self._storages, []
        for storage in storages:
            storage.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _read_metadata(path: Path, name: str) -> dict[str, object] | None:
    if not path.is_file():
        log.info("%s: no metadata.yaml; reading the storage files directly", name)
        return None
    try:
        document = yaml.safe_load(path.read_bytes().decode())
        info = document["rosbag2_bagfile_information"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, IndexError) as err:
        log.warning("%s: metadata.yaml unreadable (%s); reading the storage files directly", name, _yaml_problem(err))
        return None
    if not isinstance(info, dict):
        log.warning("%s: metadata.yaml unreadable (rosbag2_bagfile_information is not a mapping); "
                    "reading the storage files directly", name)
        return None
    return info


def _yaml_problem(err: Exception) -> str:
    """One line for a metadata.yaml problem (PyYAML's own message spans several lines with a source excerpt)."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        return one_line(f"line {mark.line + 1}, column {mark.column + 1}: {err.problem}")
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text: byte {err.object[err.start]:#04x} at offset {err.start}"
    if isinstance(err, KeyError):
        return f"no key {err}"
    return one_line(err)


def _distro(metadata: dict[str, object] | None, storages: list[Storage]) -> str:
    """The ROS distro hint: metadata.yaml, else the storage files, else from the metadata version."""
    info = metadata or {}
    candidates = [info.get("ros_distro"), *(storage.distro for storage in storages)]
    for distro in candidates:
        if isinstance(distro, str) and distro in KNOWN_DISTROS:
            return str(distro)
    version = info.get("version")
    return _VERSION_DISTROS.get(version, "") if isinstance(version, int) else ""


def _spool_stream(stream: BinaryIO, directory: Path) -> Path:
    stream.seek(0)
    head = stream.read(16)
    suffix = ".db3" if head.startswith(b"SQLite format 3") else ".mcap.zstd" if head[:4] == ZSTD_MAGIC else ".mcap"
    return spool(stream, suffix, str(directory))


def _decompress(data: bytes, name: str) -> bytes:
    try:
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except zstandard.ZstdError as err:
        raise SourceError(f"a zstd-compressed message does not decompress: {one_line(err)}", path=name,
                          hint="the storage file is damaged; re-copy it") from err


def _add(total: ChannelStats, more: ChannelStats) -> ChannelStats:
    if not more.message_count:
        return total
    if not total.message_count:
        return more
    return ChannelStats(total.message_count + more.message_count,
                        min(total.start_time, more.start_time),  # type: ignore[type-var]
                        max(total.end_time, more.end_time))  # type: ignore[type-var]
