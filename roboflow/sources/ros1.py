"""ROS1 bag v2.0 recordings: uncompressed, bz2 and lz4 chunks, unsorted chunks, several
connections per topic, custom types whose definitions live only in the connection headers.

An indexed bag is read with rosbags' ``rosbag1.Reader`` (which uses the index to decompress only
chunks holding wanted connections and merges unsorted chunks by time); the reader is fed the
source's stream, so S3/OSS streams work without a temporary file. A bag whose index is missing
(interrupted recording) or damaged (truncated copy) is read by :mod:`roboflow.sources.ros1_scan`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

from rosbags.rosbag1 import Reader, ReaderError
from rosbags.rosbag1.reader import Header, RecordType

from roboflow.errors import SourceError
from roboflow.sources.base import Channel, ChannelStats, ClosingSource, RawMessage
from roboflow.sources.bounded import BoundedStream
from roboflow.sources.damage import Damage
from roboflow.sources.ordering import Block, merge_in_order, select_blocks, suffix_floors
from roboflow.sources.ros1_scan import BAG_MAGIC, DAMAGE, describe_damage, make_channel, read_block, scan_bag
from roboflow.sources.stamps import StampReader, stamp_reader
from roboflow.sources.streams import Input, describe, open_binary

__all__ = ["Ros1BagSource"]

log = logging.getLogger(__name__)


class _StreamPath:
    """Just enough of a path for rosbags' Reader: ``open()`` hands it our stream, bounded, which it may not close."""

    def __init__(self, stream: BinaryIO, size: int, name: str) -> None:
        self._stream = stream
        self._size = size
        self._name = name

    def exists(self) -> bool:
        return True

    def open(self, mode: str = "rb") -> BinaryIO:
        self._stream.seek(0)
        return BoundedStream(self._stream, self._size)  # type: ignore[return-value]

    def __str__(self) -> str:
        return self._name


class Ros1BagSource(ClosingSource):
    """A ROS1 bag (v2.0) file or stream.

    Args:
        source: Path or seekable binary stream.
        name: Name used in errors and ``path``.

    Raises:
        SourceError: Empty file, not a bag, unsupported bag version, compression or encryption.
    """

    format = "ros1bag"

    def __init__(self, source: Input, *, name: str | None = None) -> None:
        self.path = describe(source, name)
        self._stream: BinaryIO | None = None
        self._stream, self._owned = open_binary(source, self.path)
        self._reader: Reader | None = None
        self._blocks: list[Block] = []
        self._damage: Damage | None = None
        try:
            self._size = self._stream.seek(0, io.SEEK_END)
            index_pos = self._check_header()
            self._open(index_pos)
        except BaseException:
            self.close()
            raise
        self._stamps: dict[int, StampReader | None] = {cid: stamp_reader(ch) for cid, ch in self._channels.items()}

    def _check_header(self) -> int:
        """Check the magic and bag header; return the index position (0: not indexed)."""
        assert self._stream is not None
        if self._size == 0:
            raise SourceError("file is empty (0 bytes)", path=self.path,
                              hint="the recording was never written or the copy failed; re-copy it")
        self._stream.seek(0)
        magic = self._stream.read(len(BAG_MAGIC))
        if magic != BAG_MAGIC:
            if magic.startswith(b"#ROSBAG V"):
                version = magic[9:].split(b"\n")[0].decode(errors="replace")
                raise SourceError(f"ROS bag version {version} is not supported", path=self.path,
                                  hint="roboflow reads bag format 2.0 (ROS1 since C Turtle); migrate it with `rosbag fix`")
            raise SourceError(f"not a ROS1 bag (starts with {magic[:13]!r})", path=self.path,
                              hint="check that this is a .bag recording")
        try:
            header = Header.read(BoundedStream(self._stream, self._size), RecordType.BAGHEADER)  # type: ignore[arg-type]
            return header.get_uint64("index_pos")
        except DAMAGE as err:
            raise SourceError(f"unreadable bag header: {describe_damage(err)}", path=self.path,
                              hint="the file is damaged at its start; re-copy it") from err

    def _open(self, index_pos: int) -> None:
        assert self._stream is not None
        if 0 < index_pos <= self._size:
            reader = Reader(_StreamPath(self._stream, self._size, self.path))  # type: ignore[arg-type]
            try:
                reader.open()
            except DAMAGE as err:
                if isinstance(err, ReaderError) and "not supported" in str(err):
                    raise SourceError(str(err).rstrip("."), path=self.path,
                                      hint="roboflow reads unencrypted bags with none, bz2 or lz4 chunks") from err
                log.warning("%s: bag index unreadable (%s); scanning the chunks instead", self.path,
                            describe_damage(err))
            else:
                self._reader = reader
                self._channels = {
                    conn.id: make_channel(conn.id, conn.topic, conn.msgtype, conn.msgdef.data, _extra(conn))
                    for conn in reader.connections
                }
                self._stats = {cid: _stats(reader.indexes.get(cid, [])) for cid in self._channels}
                return
        elif index_pos == 0:
            log.warning("%s: bag is not indexed (interrupted recording?); scanning the chunks", self.path)
        scan = scan_bag(self._stream, self._size, index_pos)
        self._channels, self._blocks, self._stats, self._damage = scan.channels, scan.blocks, scan.stats, scan.damage

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._channels.values())

    def statistics(self) -> Mapping[int, ChannelStats]:
        if self._damage is not None:
            raise self._damage.error(self.path)
        return self._stats

    def messages(
        self, topics: Iterable[str] | None = None, start: int | None = None, stop: int | None = None
    ) -> Iterator[RawMessage]:
        """Yield messages of ``topics`` (all when None) with ``start <= log_time < stop``, in log-time order.

        Raises:
            SourceError: A chunk is unreadable or the bag is damaged, after yielding every message before it
                (the message says where, and how many were read).
        """
        if self._stream is None:
            raise SourceError("source is closed", path=self.path, hint="read messages inside the `with` block")
        wanted = None
        if topics is not None:
            names = set(topics)
            wanted = {cid for cid, channel in self._channels.items() if channel.topic in names}
        if self._reader is not None:
            messages = self._indexed(wanted, start, stop)
        else:
            blocks = select_blocks(self._blocks, wanted, start, stop)
            chunks = (read_block(self._stream, block, self._channels, self._stamps, wanted, start, stop)
                      for block in blocks)
            messages = merge_in_order(chunks, suffix_floors([block.start for block in blocks]))
        read = 0
        try:
            for message in messages:
                yield message
                read += 1
        except DAMAGE as err:
            raise Damage(self._chunk_at(), self._size, read, describe_damage(err)).error(self.path) from err
        if self._damage is not None:
            raise self._damage.error(self.path)

    def _chunk_at(self) -> int:
        """Start of the chunk the stream is in (where reading broke), else the stream position."""
        assert self._stream is not None
        position = self._stream.tell()
        starts = ([info.pos for info in self._reader.chunk_infos] if self._reader is not None
                  else [block.offset for block in self._blocks])
        return max((start for start in starts if start < position), default=position)

    def _indexed(self, wanted: set[int] | None, start: int | None, stop: int | None) -> Iterator[RawMessage]:
        assert self._reader is not None
        if wanted is not None and not wanted:
            return
        connections = [conn for conn in self._reader.connections if wanted is None or conn.id in wanted]
        channels, stamps = self._channels, self._stamps
        for conn, log_time, data in self._reader.messages(connections, start, stop):
            stamp = stamps[conn.id]
            yield RawMessage(channels[conn.id], log_time, data, stamp(data) if stamp else None)

    def close(self) -> None:
        """Close the bag (a stream handed in stays open). Idempotent."""
        reader, self._reader = self._reader, None
        if reader is not None and reader.bio is not None:
            reader.close()
        stream, self._stream = self._stream, None
        if stream is not None and self._owned:
            stream.close()


def _extra(conn: object) -> dict[str, str]:
    extra = {"md5sum": conn.digest}  # type: ignore[attr-defined]
    ext = conn.ext  # type: ignore[attr-defined]
    if ext.callerid is not None:
        extra["callerid"] = ext.callerid
    if ext.latching is not None:
        extra["latching"] = str(ext.latching)
    return extra


def _stats(index: list) -> ChannelStats:  # type: ignore[type-arg]
    if not index:
        return ChannelStats(0, None, None)
    return ChannelStats(len(index), index[0].time, index[-1].time)
