"""Reading a ROS1 bag without its index: unindexed (interrupted recording) or truncated bags.

rosbags' reader needs the index at the end of the file. Without it, the bag is scanned once,
chunk by chunk (one decompressed chunk in memory at a time), to find connections and each chunk's
time range; the scan stops at the first damaged record. Messages are then read chunk by chunk in
file order and put in log-time order by :func:`roboflow.sources.ordering.merge_in_order`.
Record headers are parsed with rosbags' ``Header``.
"""

from __future__ import annotations

import bz2
import io
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import BinaryIO

import lz4.frame
from rosbags.rosbag1.reader import Header, ReaderError, RecordType, normalize, read_bytes, read_uint32
from rosbags.typesys.msg import normalize_msgtype

from roboflow.errors import one_line
from roboflow.sources.base import Channel, ChannelStats, RawMessage, Schema
from roboflow.sources.damage import Damage
from roboflow.sources.ordering import Block
from roboflow.sources.stamps import StampReader

__all__ = ["BAG_MAGIC", "DAMAGE", "ScanResult", "describe_damage", "make_channel", "read_block", "scan_bag"]

BAG_MAGIC = b"#ROSBAG V2.0\n"

#: What rosbags and the decompressors raise on a damaged record: a damaged header field may be
#: missing (ReaderError), of the wrong size (struct.error), not UTF-8, an unknown op code (ValueError),
#: an inconsistent index (AssertionError, KeyError); a damaged chunk does not decompress
#: (OSError from bz2, RuntimeError from lz4).
DAMAGE = (ReaderError, struct.error, UnicodeDecodeError, ValueError, AssertionError, KeyError, IndexError,
          OSError, RuntimeError, EOFError)


def make_channel(conn: int, topic: str, msgtype: str, msgdef: str, extra: dict[str, str]) -> Channel:
    """The Channel of one ROS1 connection (definitions come from the connection header)."""
    schema = Schema(normalize_msgtype(msgtype), "ros1msg", msgdef.encode())
    return Channel(conn, normalize(topic), "ros1", schema, extra)


@dataclass(slots=True)
class ScanResult:
    """What one pass over an unindexed bag found."""

    channels: dict[int, Channel] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    stats: dict[int, ChannelStats] = field(default_factory=dict)
    damage: Damage | None = None
    messages: int = 0


def _connection(header: Header, data: bytes) -> Channel:
    fields = Header.read(io.BytesIO(_length_prefixed(data)))
    extra = {key: fields.get_string(key) for key in ("md5sum", "callerid", "latching") if key in fields}
    return make_channel(
        header.get_uint32("conn"),
        header.get_string("topic"),
        fields.get_string("type"),
        fields.get_string("message_definition") if "message_definition" in fields else "",
        extra,
    )


def _chunk_payload(header: Header, data: bytes) -> io.BytesIO:
    """The decompressed records of a chunk, never more than the ``size`` its header declares."""
    compression = header.get_string("compression")
    size = header.get_uint32("size")
    if compression == "none":
        return io.BytesIO(data)
    if compression == "bz2":
        decompressor: bz2.BZ2Decompressor | lz4.frame.LZ4FrameDecompressor = bz2.BZ2Decompressor()
    elif compression == "lz4":
        decompressor = lz4.frame.LZ4FrameDecompressor()
    else:
        raise ReaderError(f"unsupported chunk compression {compression!r}")
    try:
        return io.BytesIO(decompressor.decompress(data, max_length=size))
    except (OSError, ValueError, RuntimeError, EOFError) as err:
        raise ReaderError(f"{compression} chunk does not decompress: {one_line(err)}") from err


_FILE_OPS = frozenset({RecordType.BAGHEADER, RecordType.CHUNK, RecordType.CONNECTION, RecordType.IDXDATA,
                       RecordType.CHUNK_INFO})
_CHUNK_OPS = frozenset({RecordType.CONNECTION, RecordType.MSGDATA})


def _op(header: Header, allowed: frozenset[RecordType]) -> int:
    """The record's op code; one that cannot appear here is damage (a skipped record would lose messages)."""
    op = header.get_uint8("op")
    if op not in allowed:
        raise ReaderError(f"unknown record op code {op:#04x}")
    return op


def _sized(stream: BinaryIO, end: int, what: str) -> bytes:
    """A length-prefixed field, its length checked against the ``end`` of the file or chunk before reading."""
    position = stream.tell()
    length = read_uint32(stream)
    if length > end - position - 4:
        raise ReaderError(f"{what} at byte {position} claims {length} bytes, {max(end - position - 4, 0)} remain")
    return read_bytes(stream, length)


def _read_record(stream: BinaryIO, end: int) -> tuple[Header, bytes]:
    """One record (header and data) of a bag or chunk that ends at byte ``end``."""
    header = Header.read(io.BytesIO(_length_prefixed(_sized(stream, end, "record header"))))
    return header, _sized(stream, end, "record data")


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


def _records(payload: io.BytesIO) -> list[tuple[Header, bytes]]:
    size = len(payload.getbuffer())
    out = []
    while payload.tell() < size:
        out.append(_read_record(payload, size))
    return out


def describe_damage(err: BaseException) -> str:
    """One line for a damage exception (an AssertionError or KeyError alone says little)."""
    text = one_line(err).rstrip(".")
    if isinstance(err, KeyError):
        return f"unknown connection or chunk {text}"
    if isinstance(err, (OSError, RuntimeError, EOFError)):
        return f"chunk does not decompress: {text}"
    return text or f"inconsistent record ({type(err).__name__})"


def scan_bag(stream: BinaryIO, size: int, index_pos: int) -> ScanResult:
    """Find connections, chunks and per-connection statistics by reading the bag once.

    Args:
        stream: The bag.
        size: Its size in bytes.
        index_pos: The bag header's index position (0: the bag was never indexed).
    """
    result = ScanResult()
    tallies: dict[int, list[int]] = {}
    position = len(BAG_MAGIC)
    stream.seek(position)
    while position < size:
        try:
            header, data = _read_record(stream, size)
            op = _op(header, _FILE_OPS)
            if op == RecordType.CONNECTION:
                channel = _connection(header, data)
                result.channels.setdefault(channel.id, channel)
            elif op == RecordType.CHUNK:
                _scan_chunk(result, tallies, header, data, position, stream.tell() - position)
        except DAMAGE as err:
            result.damage = Damage(position, size, result.messages, describe_damage(err))
            break
        position = stream.tell()
    if result.damage is None and index_pos and index_pos > size:
        result.damage = Damage(size, size, result.messages, f"index expected at byte {index_pos} is missing")
    result.stats = {
        cid: ChannelStats(*tallies[cid]) if cid in tallies else ChannelStats(0, None, None)
        for cid in result.channels
    }
    return result


def _scan_chunk(result: ScanResult, tallies: dict[int, list[int]], header: Header, data: bytes,
                offset: int, length: int) -> None:
    times: list[int] = []
    ids: set[int] = set()
    for record, payload in _records(_chunk_payload(header, data)):
        op = _op(record, _CHUNK_OPS)
        if op == RecordType.CONNECTION:
            channel = _connection(record, payload)
            result.channels.setdefault(channel.id, channel)
        elif op == RecordType.MSGDATA:
            conn, log_time = record.get_uint32("conn"), record.get_time("time")
            if conn not in result.channels:
                raise ReaderError(f"message on undefined connection {conn}")
            ids.add(conn)
            times.append(log_time)
            tally = tallies.setdefault(conn, [0, log_time, log_time])
            tally[0] += 1
            tally[1] = min(tally[1], log_time)
            tally[2] = max(tally[2], log_time)
    if times:
        result.blocks.append(Block(offset, length, min(times), max(times), frozenset(ids)))
        result.messages += len(times)


def read_block(
    stream: BinaryIO,
    block: Block,
    channels: dict[int, Channel],
    stamps: dict[int, StampReader | None],
    wanted: Collection[int] | None,
    start: int | None,
    stop: int | None,
) -> list[RawMessage]:
    """The messages of one chunk that match the filters, in storage order.

    Raises:
        ReaderError: The chunk is unreadable (it was readable during the scan: the file changed).
    """
    stream.seek(block.offset)
    header, data = _read_record(stream, block.offset + block.length)
    out = []
    for record, payload in _records(_chunk_payload(header, data)):
        if record.get_uint8("op") != RecordType.MSGDATA:
            continue
        conn, log_time = record.get_uint32("conn"), record.get_time("time")
        if (wanted is not None and conn not in wanted) or (start is not None and log_time < start) or (
            stop is not None and log_time >= stop
        ):
            continue
        stamp = stamps.get(conn)
        out.append(RawMessage(channels[conn], log_time, payload, stamp(payload) if stamp else None))
    return out
