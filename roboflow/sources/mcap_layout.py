"""Where an MCAP file's messages are: from its summary, or from one linear pass when it has none.

The summary (parsed by the ``mcap`` library) gives channels, schemas and chunk indexes; per-channel
counts and time ranges come from the message indexes without decompressing anything. A file
without a usable summary (unchunked, written by a crashed recorder, truncated) is scanned once,
record by record, to find its channels and the byte ranges ("blocks") of its messages; the scan
stops at the first damaged record and remembers how many messages came before it.

The record framing (``opcode u8, length u64, body``) is parsed here directly so payloads can be
sliced without copies and blocks located by offset; record bodies use the ``mcap`` record classes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import lz4.frame
import zstandard
from mcap.data_stream import ReadDataStream
from mcap.exceptions import McapError
from mcap.opcode import Opcode
from mcap.reader import SeekingReader
from mcap.records import Channel as McapChannel
from mcap.records import MessageIndex
from mcap.records import Schema as McapSchema
from mcap.summary import Summary

from roboflow.errors import SourceError, one_line
from roboflow.sources.base import Channel, ChannelStats, Schema
from roboflow.sources.bounded import BoundedStream
from roboflow.sources.damage import Damage
from roboflow.sources.ordering import Block

__all__ = ["MAGIC", "Layout", "chunk_records", "indexed_layout", "iter_records", "scanned_layout"]

MAGIC = b"\x89MCAP0\r\n"
RECORD = struct.Struct("<BQ")
MESSAGE = struct.Struct("<HIQQ")
_CHUNK_HEAD = struct.Struct("<QQQI")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_FOOTER_SIZE = 1 + 8 + 8 + 8 + 4
_RUN_BYTES = 4 << 20
_ROS_ENCODINGS = ("ros1msg", "ros2msg", "ros2idl")
#: Largest decompressed chunk accepted (writers use a few MB; a larger claim is a damaged length).
MAX_CHUNK = 1 << 30
#: What the ``mcap`` library raises on a damaged summary or message index.
_LIBRARY_DAMAGE = (McapError, struct.error, UnicodeDecodeError, ValueError, KeyError, IndexError, EOFError)


class CorruptRecord(Exception):
    """A record's framing or content does not hold together.

    Args:
        what: What was found, in one line.
        offset: Byte offset in the file of the block (chunk or run of messages) it was found in, when known.
    """

    def __init__(self, what: str, offset: int | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.offset = offset


@dataclass(slots=True)
class Layout:
    """Channels, blocks in read order, per-channel statistics (None: compute by reading) and damage."""

    channels: dict[int, Channel]
    blocks: list[Block]
    stats: dict[int, ChannelStats] | None
    damage: Damage | None = None


@dataclass(slots=True)
class _Tally:
    count: int = 0
    start: int | None = None
    end: int | None = None

    def add(self, log_time: int) -> None:
        self.count += 1
        self.start = log_time if self.start is None else min(self.start, log_time)
        self.end = log_time if self.end is None else max(self.end, log_time)

    def freeze(self) -> ChannelStats:
        return ChannelStats(self.count, self.start, self.end)


def iter_records(buffer: memoryview) -> Iterator[tuple[int, memoryview]]:
    """(opcode, body) of each record in ``buffer`` (a chunk's records or a run of messages)."""
    position, size = 0, len(buffer)
    while position < size:
        if position + 9 > size:
            raise CorruptRecord(f"record header cut at byte {position} of {size}")
        opcode, length = RECORD.unpack_from(buffer, position)
        end = position + 9 + length
        if end > size:
            raise CorruptRecord(f"record claims {length} bytes, {size - position - 9} remain")
        yield opcode, buffer[position + 9 : end]
        position = end


def chunk_records(body: memoryview) -> memoryview:
    """The decompressed records of a Chunk record body, never more than its declared uncompressed size."""
    try:
        _, _, uncompressed_size, _ = _CHUNK_HEAD.unpack_from(body, 0)
        (name_length,) = _U32.unpack_from(body, 28)
        compression = bytes(body[32 : 32 + name_length]).decode()
        position = 32 + name_length
        (length,) = _U64.unpack_from(body, position)
    except (struct.error, UnicodeDecodeError) as err:
        raise CorruptRecord(f"unreadable chunk header: {one_line(err)}") from err
    data = body[position + 8 : position + 8 + length]
    if len(data) != length:
        raise CorruptRecord(f"chunk claims {length} bytes of records, {len(data)} present")
    if compression and uncompressed_size > MAX_CHUNK:
        raise CorruptRecord(f"chunk claims {uncompressed_size} uncompressed bytes (more than {MAX_CHUNK})")
    try:
        if compression == "":
            return data
        if compression == "zstd":
            declared = zstandard.frame_content_size(data)
            if declared not in (-1, uncompressed_size):
                raise CorruptRecord(f"zstd frame claims {declared} bytes, the chunk {uncompressed_size}")
            return memoryview(zstandard.decompress(data, max_output_size=uncompressed_size))
        if compression == "lz4":
            return memoryview(lz4.frame.LZ4FrameDecompressor().decompress(data, max_length=uncompressed_size))
    except (zstandard.ZstdError, RuntimeError, EOFError, ValueError) as err:
        raise CorruptRecord(f"{compression} chunk does not decompress: {one_line(err)}") from err
    raise SourceError(
        f"unsupported chunk compression {compression!r}", hint="roboflow reads uncompressed, zstd and lz4 chunks"
    )


def _schema(record: McapSchema) -> Schema:
    name = record.name
    if record.encoding in _ROS_ENCODINGS and name.count("/") == 1:
        package, type_name = name.split("/")
        name = f"{package}/msg/{type_name}"
    return Schema(name, record.encoding, bytes(record.data))


def _channel(record: McapChannel, schemas: dict[int, Schema]) -> Channel:
    if record.schema_id != 0 and record.schema_id not in schemas:
        raise CorruptRecord(f"channel {record.topic!r} refers to missing schema {record.schema_id}")
    schema = schemas.get(record.schema_id) if record.schema_id else None
    return Channel(record.id, record.topic, record.message_encoding, schema, dict(record.metadata))


def _parse(body: memoryview, record_type: type[McapSchema | McapChannel]) -> McapSchema | McapChannel:
    try:
        record: McapSchema | McapChannel = record_type.read(ReadDataStream(io.BytesIO(body)))
        return record
    except (McapError, struct.error, UnicodeDecodeError) as err:
        raise CorruptRecord(f"unreadable {record_type.__name__} record: {one_line(err)}") from err


# --- from the summary ----------------------------------------------------------------------------


def indexed_layout(stream: BinaryIO, size: int) -> Layout | None:
    """The layout from the file's summary, or None when it has no usable chunk index."""
    summary = _summary(stream, size)
    if summary is None or not summary.chunk_indexes:
        return None
    schemas = {sid: _schema(record) for sid, record in summary.schemas.items()}
    try:
        channels = {cid: _channel(record, schemas) for cid, record in summary.channels.items()}
    except CorruptRecord:
        return None
    blocks = []
    for index in sorted(summary.chunk_indexes, key=lambda i: (i.message_start_time, i.chunk_start_offset)):
        ids = frozenset(index.message_index_offsets) or None
        if ids is not None and not ids <= channels.keys():
            return None  # channels defined only inside chunks: scan instead
        blocks.append(Block(index.chunk_start_offset, index.chunk_length, index.message_start_time,
                            index.message_end_time, ids))
    if any(block.offset + block.length > size for block in blocks):
        return None
    return Layout(channels, blocks, _indexed_stats(stream, size, summary, channels))


def _summary(stream: BinaryIO, size: int) -> Summary | None:
    """The summary section, None when the footer is missing, invalid or points nowhere."""
    if size < len(MAGIC) * 2 + _FOOTER_SIZE:
        return None
    stream.seek(size - len(MAGIC) - _FOOTER_SIZE)
    tail = stream.read(_FOOTER_SIZE + len(MAGIC))
    opcode, length = RECORD.unpack_from(tail, 0)
    if tail[-len(MAGIC):] != MAGIC or opcode != Opcode.FOOTER or length != 20:
        return None
    (summary_start,) = _U64.unpack_from(tail, 9)
    if summary_start == 0 or not len(MAGIC) <= summary_start < size:
        return None
    stream.seek(0)
    try:
        return SeekingReader(BoundedStream(stream, size)).get_summary()  # type: ignore[arg-type]
    except _LIBRARY_DAMAGE:
        return None


def _indexed_stats(stream: BinaryIO, size: int, summary: Summary, channels: dict[int, Channel]
                   ) -> dict[int, ChannelStats] | None:
    """Per-channel statistics from the message indexes; None if a chunk has none or one is unreadable."""
    tallies = {cid: _Tally() for cid in channels}
    bounded = BoundedStream(stream, size)
    for index in summary.chunk_indexes:
        if not index.message_index_offsets:
            return None
        for channel_id, offset in index.message_index_offsets.items():
            if not len(MAGIC) <= offset < size - 9:  # a damaged chunk index: count by reading instead
                return None
            bounded.seek(offset + 9)
            try:
                record = MessageIndex.read(ReadDataStream(bounded))  # type: ignore[arg-type]
            except _LIBRARY_DAMAGE:
                return None
            tally = tallies[channel_id]
            for log_time, _ in record.records:
                tally.add(log_time)
    return {cid: tally.freeze() for cid, tally in tallies.items()}


# --- by scanning ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Scan:
    size: int
    schemas: dict[int, Schema] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    tallies: dict[int, _Tally] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    messages: int = 0
    run: list[int] | None = None  # [offset, length, start, end]
    run_ids: set[int] = field(default_factory=set)

    def define(self, opcode: int, body: memoryview) -> None:
        if opcode == Opcode.SCHEMA:
            record = _parse(body, McapSchema)
            self.schemas[record.id] = _schema(record)  # type: ignore[arg-type]
        elif opcode == Opcode.CHANNEL:
            channel = _channel(_parse(body, McapChannel), self.schemas)  # type: ignore[arg-type]
            self.channels.setdefault(channel.id, channel)
            self.tallies.setdefault(channel.id, _Tally())

    def message(self, body: memoryview) -> int:
        if len(body) < MESSAGE.size:
            raise CorruptRecord(f"a message record of {len(body)} bytes, shorter than its {MESSAGE.size}-byte header")
        channel_id, _, log_time, _ = MESSAGE.unpack_from(body, 0)
        if channel_id not in self.channels:
            raise CorruptRecord(f"message on undefined channel {channel_id}")
        self.tallies[channel_id].add(log_time)
        return int(channel_id)

    def chunk(self, offset: int, length: int, body: memoryview) -> None:
        start, end, ids, count = None, None, set(), 0
        for opcode, record in iter_records(chunk_records(body)):
            if opcode == Opcode.MESSAGE:
                ids.add(self.message(record))
                (log_time,) = _U64.unpack_from(record, 6)
                start = log_time if start is None else min(start, log_time)
                end = log_time if end is None else max(end, log_time)
                count += 1
            else:
                self.define(opcode, record)
        if count:
            self.blocks.append(Block(offset, length, start, end, frozenset(ids)))  # type: ignore[arg-type]
        self.messages += count

    def loose_message(self, offset: int, length: int, body: memoryview) -> None:
        channel_id = self.message(body)
        (log_time,) = _U64.unpack_from(body, 6)
        if self.run is None or self.run[1] > _RUN_BYTES:
            self.close_run()
            self.run = [offset, 0, log_time, log_time]
        self.run[1] = offset + length - self.run[0]
        self.run[2] = min(self.run[2], log_time)
        self.run[3] = max(self.run[3], log_time)
        self.run_ids.add(channel_id)
        self.messages += 1

    def close_run(self) -> None:
        if self.run is not None:
            offset, length, start, end = self.run
            self.blocks.append(Block(offset, length, start, end, frozenset(self.run_ids), compressed=False))
        self.run, self.run_ids = None, set()

    def layout(self, damage: Damage | None) -> Layout:
        self.close_run()
        stats = {cid: tally.freeze() for cid, tally in self.tallies.items()}
        return Layout(self.channels, self.blocks, stats, damage)


def scanned_layout(stream: BinaryIO, size: int) -> Layout:
    """The layout found by reading the whole file once (bounded memory: one record at a time)."""
    scan = _Scan(size)
    position = len(MAGIC)
    stream.seek(position)
    while True:
        head = stream.read(9)
        if len(head) < 9:
            what = "file ends without a footer" if not head else "record header cut short"
            return scan.layout(Damage(position, size, scan.messages, what))
        opcode, length = RECORD.unpack_from(head, 0)
        if position + 9 + length > size:
            what = f"record claims {length} bytes, {size - position - 9} remain"
            return scan.layout(Damage(position, size, scan.messages, what))
        if opcode in (Opcode.DATA_END, Opcode.FOOTER):
            return scan.layout(None)
        try:
            if opcode in (Opcode.MESSAGE, Opcode.CHUNK, Opcode.SCHEMA, Opcode.CHANNEL):
                body = memoryview(stream.read(length))
                if opcode == Opcode.MESSAGE:
                    scan.loose_message(position, 9 + length, body)
                else:
                    scan.close_run()
                    if opcode == Opcode.CHUNK:
                        scan.chunk(position, 9 + length, body)
                    else:
                        scan.define(opcode, body)
            else:
                scan.close_run()
                stream.seek(length, io.SEEK_CUR)
        except CorruptRecord as err:
            return scan.layout(Damage(position, size, scan.messages, str(err)))
        position += 9 + length
