"""The storage files of a rosbag2 bag behind one small interface (SQLite or MCAP).

A storage file is chosen by content (SQLite header or MCAP magic), not by suffix. File-level zstd
compression (``.db3.zstd``/``.mcap.zstd``) is undone into a temporary file first.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import zstandard

from roboflow.errors import SourceError, one_line
from roboflow.sources.base import ChannelStats
from roboflow.sources.mcap import McapSource
from roboflow.sources.mcap_layout import MAGIC as MCAP_MAGIC
from roboflow.sources.rosbag2_base import Storage, StorageTopic
from roboflow.sources.rosbag2_sqlite import SqliteStorage

__all__ = ["McapStorage", "open_storage"]

SQLITE_MAGIC = b"SQLite format 3\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class McapStorage:
    """An MCAP storage file, read by :class:`McapSource` (index, ordering and damage handling)."""

    distro = ""

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self._source = McapSource(path, name=name)

    def topics(self) -> list[StorageTopic]:
        return [StorageTopic(ch.id, ch.topic, ch.message_encoding, ch.schema, ch.metadata) for ch in self._source.channels]

    def statistics(self) -> dict[int, ChannelStats]:
        return dict(self._source.statistics())

    def messages(
        self, topic_ids: Collection[int] | None, start: int | None, stop: int | None
    ) -> Iterator[tuple[int, int, bytes]]:
        topics = None
        if topic_ids is not None:
            topics = {ch.topic for ch in self._source.channels if ch.id in topic_ids}
        for message in self._source.messages(topics, start, stop):
            if topic_ids is None or message.channel.id in topic_ids:
                yield message.channel.id, message.log_time, bytes(message.data)

    def close(self) -> None:
        self._source.close()


def open_storage(path: Path, name: str, scratch: Callable[[], Path]) -> Storage:
    """Open one storage file, choosing the reader by its first bytes.

    Args:
        path: The storage file.
        name: Name used in errors.
        scratch: Returns a temporary directory for decompressed copies (created on first call).

    Raises:
        SourceError: Empty, unknown content, or unreadable.
    """
    head = _head(path, name)
    if head[:4] == ZSTD_MAGIC:
        target = scratch() / path.name.removesuffix(".zstd")
        with path.open("rb") as compressed, target.open("wb") as out:
            try:
                zstandard.ZstdDecompressor().copy_stream(compressed, out)
            except zstandard.ZstdError as err:
                raise SourceError(f"file-level zstd does not decompress: {one_line(err)}", path=name,
                                  hint="the file is damaged; re-copy it") from err
        path, head = target, _head(target, name)
    if head.startswith(SQLITE_MAGIC):
        return SqliteStorage(path, name)
    if head.startswith(MCAP_MAGIC[:5]):
        return McapStorage(path, name)
    raise SourceError(f"unknown storage file content (starts with {head[:8]!r})", path=name,
                      hint="rosbag2 storage files are SQLite (.db3) or MCAP (.mcap), optionally zstd-compressed")


def _head(path: Path, name: str) -> bytes:
    with path.open("rb") as stream:
        head = stream.read(16)
    if not head:
        raise SourceError("storage file is empty (0 bytes)", path=name,
                          hint="the recording was never written or the copy failed")
    return head
