"""MCAP recordings: chunked or not, zstd/lz4/uncompressed, with or without summary and index.

With a summary, chunks are read in log-time order of their index entries and chunks without
wanted channels are never decompressed. Without one, the file is scanned once at open (see
:mod:`roboflow.sources.mcap_layout`) and then read block by block. Either way messages come out in
log-time order with memory bounded by overlapping chunks, and a damaged or truncated file yields
every message before the damage and then raises :class:`~roboflow.errors.SourceError`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

from mcap.opcode import Opcode

from roboflow.errors import SourceError
from roboflow.sources.base import Channel, ChannelStats, ClosingSource, RawMessage
from roboflow.sources.damage import Damage
from roboflow.sources.mcap_layout import (
    MAGIC,
    MESSAGE,
    CorruptRecord,
    Layout,
    chunk_records,
    indexed_layout,
    iter_records,
    scanned_layout,
)
from roboflow.sources.ordering import Block, merge_in_order, select_blocks, suffix_floors
from roboflow.sources.stamps import StampReader, stamp_reader
from roboflow.sources.streams import Input, describe, open_binary

__all__ = ["McapSource"]


class McapSource(ClosingSource):
    """An MCAP file or stream.

    Args:
        source: Path or seekable binary stream.
        name: Name used in errors and ``path`` (defaults to the path or the stream's name).

    Raises:
        SourceError: Empty file, bad magic, unreadable.
    """

    format = "mcap"

    def __init__(self, source: Input, *, name: str | None = None) -> None:
        self.path = describe(source, name)
        self._stream: BinaryIO | None = None
        self._stream, self._owned = open_binary(source, self.path)
        try:
            self._size = self._stream.seek(0, io.SEEK_END)
            self._check_magic()
            self._layout: Layout = indexed_layout(self._stream, self._size) or scanned_layout(
                self._stream, self._size
            )
        except BaseException:
            self.close()
            raise
        self._stamps: dict[int, StampReader | None] = {
            cid: stamp_reader(channel) for cid, channel in self._layout.channels.items()
        }

    def _check_magic(self) -> None:
        assert self._stream is not None
        if self._size == 0:
            raise SourceError("file is empty (0 bytes)", path=self.path,
                              hint="the recording was never written or the copy failed; re-copy it")
        self._stream.seek(0)
        head = self._stream.read(len(MAGIC))
        if head == MAGIC:
            return
        if head.startswith(b"\x89MCAP0\n") or (head.startswith(b"\x89MCAP") and b"\r" not in head):
            raise SourceError("bad MCAP magic: the CR bytes of the file were stripped", path=self.path,
                              hint="the file went through a text-mode transfer; copy it again in binary mode")
        raise SourceError(f"not an MCAP file (starts with {head[:8]!r})", path=self.path,
                          hint="check that this is an .mcap recording")

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._layout.channels.values())

    def statistics(self) -> Mapping[int, ChannelStats]:
        if self._layout.damage is not None:
            raise self._layout.damage.error(self.path)
        if self._layout.stats is None:
            self._layout.stats = self._count()
        return self._layout.stats

    def _count(self) -> dict[int, ChannelStats]:
        counts: dict[int, list[int]] = {}
        for message in self.messages():
            entry = counts.setdefault(message.channel.id, [0, message.log_time, message.log_time])
            entry[0] += 1
            entry[1] = min(entry[1], message.log_time)
            entry[2] = max(entry[2], message.log_time)
        return {
            cid: ChannelStats(*counts[cid]) if cid in counts else ChannelStats(0, None, None)
            for cid in self._layout.channels
        }

    def messages(
        self, topics: Iterable[str] | None = None, start: int | None = None, stop: int | None = None
    ) -> Iterator[RawMessage]:
        """Yield messages of ``topics`` (all when None) with ``start <= log_time < stop``, in log-time order.

        Raises:
            SourceError: After yielding every message before it, when the file is damaged (the message
                says where, and how many messages were read).
        """
        wanted = None
        if topics is not None:
            names = set(topics)
            wanted = frozenset(cid for cid, ch in self._layout.channels.items() if ch.topic in names)
        blocks = select_blocks(self._layout.blocks, wanted, start, stop)
        floors = suffix_floors([block.start for block in blocks])
        read = 0
        try:
            for message in merge_in_order((self._read(block, wanted, start, stop) for block in blocks), floors):
                yield message
                read += 1
        except CorruptRecord as err:
            offset = self._size if err.offset is None else err.offset
            raise Damage(offset, self._size, read, err.what).error(self.path) from err
        if self._layout.damage is not None:
            raise self._layout.damage.error(self.path)

    def _read(self, block: Block, wanted: frozenset[int] | None, start: int | None, stop: int | None
              ) -> list[RawMessage]:
        if self._stream is None:
            raise SourceError("source is closed", path=self.path, hint="read messages inside the `with` block")
        self._stream.seek(block.offset)
        raw = memoryview(self._stream.read(block.length))
        channels, stamps = self._layout.channels, self._stamps
        out = []
        try:
            if block.compressed and (len(raw) < 9 or raw[0] != Opcode.CHUNK):
                raise CorruptRecord("the chunk index points at no chunk")
            records = chunk_records(raw[9:]) if block.compressed else raw
            for opcode, body in iter_records(records):
                if opcode != Opcode.MESSAGE:
                    continue
                if len(body) < MESSAGE.size:
                    raise CorruptRecord(f"a message record of {len(body)} bytes, shorter than its "
                                        f"{MESSAGE.size}-byte header")
                channel_id, _, log_time, _ = MESSAGE.unpack_from(body, 0)
                if (wanted is not None and channel_id not in wanted) or (start is not None and log_time < start) or (
                    stop is not None and log_time >= stop
                ):
                    continue
                channel = channels.get(channel_id)
                if channel is None:
                    raise CorruptRecord(f"message on undefined channel {channel_id}")
                data = bytes(body[MESSAGE.size:])
                stamp = stamps[channel_id]
                out.append(RawMessage(channel, log_time, data, stamp(data) if stamp else None))
        except CorruptRecord as err:
            raise CorruptRecord(f"{'chunk' if block.compressed else 'message run'}: {err.what}", block.offset) from err
        return out

    def close(self) -> None:
        """Close the file (a stream handed in stays open). Idempotent."""
        stream, self._stream = self._stream, None
        if stream is not None and self._owned:
            stream.close()
