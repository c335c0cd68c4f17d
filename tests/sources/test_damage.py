"""Damaged recordings: each damaged field is one SourceError naming the file, where it broke and what is readable.

Every input is a valid recording written by the formats' own libraries, then damaged at one field found by
walking its record framing (no random bytes), so each test shows exactly the field it is named after.
"""

from __future__ import annotations

import logging
import re
import resource
import sqlite3
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as BagWriter
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from roboflow.config import TopicInput
from roboflow.decode import decoder_for
from roboflow.errors import SourceError
from roboflow.features import vector_extractor
from roboflow.sources import Channel, Schema
from roboflow.sources.mcap import McapSource
from roboflow.sources.ros1 import Ros1BagSource
from roboflow.sources.rosbag2 import Rosbag2Source
from roboflow.synth.mutate import loosen

from .builders import BASE_NS, ROS1_STORE, Msg, string_msg, write_mcap, write_rosbag2

ROOT = Path(__file__).resolve().parents[2]
STRING = "std_msgs/msg/String"

# --- ROS1 ---------------------------------------------------------------------------------------


@dataclass
class Record:
    """One ROS1 record: where it starts, its header fields (name -> offset of the value) and its data."""

    offset: int
    fields: dict[str, int]
    data_length_at: int
    data_start: int
    data_length: int

    def op(self, bag: bytes) -> int:
        return bag[self.fields["op"]]


def ros1_records(bag: bytes, start: int = 13, end: int | None = None) -> list[Record]:
    """The records between ``start`` and ``end`` (default: the whole bag after its magic)."""
    end = len(bag) if end is None else end
    out, position = [], start
    while position < end:
        (header_length,) = struct.unpack_from("<I", bag, position)
        fields, field = {}, position + 4
        while field < position + 4 + header_length:
            (length,) = struct.unpack_from("<I", bag, field)
            name = bag[field + 4: field + 4 + length].split(b"=")[0].decode()
            fields[name] = field + 4 + len(name) + 1
            field += 4 + length
        (data_length,) = struct.unpack_from("<I", bag, field)
        out.append(Record(position, fields, field, field + 4, data_length))
        position = field + 4 + data_length
    return out


def write_bag(path: Path, compression: str = "none", count: int = 60) -> tuple[bytes, list[Record], list[int]]:
    """A bag of ``count`` Strings on /chatter in many small chunks; returns its bytes, its chunks and per-chunk counts."""
    writer = BagWriter(path)
    if compression != "none":
        writer.set_compression(getattr(BagWriter.CompressionFormat, compression.upper()))
    writer.chunk_threshold = 256
    with writer:
        connection = writer.add_connection("/chatter", STRING, typestore=ROS1_STORE)
        for k in range(count):
            text = ROS1_STORE.types[STRING](data=f"message number {k:04d}")
            writer.write(connection, BASE_NS + k, bytes(ROS1_STORE.serialize_ros1(text, STRING)))
    bag = path.read_bytes()
    records = ros1_records(bag)
    chunks, counts = [], []
    for record in records:
        if record.op(bag) == 5:
            chunks.append(record)
            counts.append(0)
        elif record.op(bag) == 4 and counts:  # the index data after a chunk counts its messages
            counts[-1] += struct.unpack_from("<I", bag, record.fields["count"])[0]
    assert len(chunks) >= 4
    return bag, chunks, counts


def damaged(path: Path, bag: bytes, offset: int, value: bytes) -> Path:
    data = bytearray(bag)
    data[offset:offset + len(value)] = value
    out = path.with_name("damaged-" + path.name)
    out.write_bytes(bytes(data))
    return out


def read_until_error(source: Ros1BagSource | McapSource | Rosbag2Source) -> tuple[list[int], str]:
    """Log times read before the SourceError, and its text."""
    times: list[int] = []
    with pytest.raises(SourceError) as caught:
        for message in source.messages():
            times.append(message.log_time)
    return times, str(caught.value)


def expect(path: Path, offset: int, size: int, what: str, readable: int) -> str:
    return (f"{path}: damaged or truncated at byte {offset} of {size} ({what}); {readable} messages before the "
            f"damage are readable (re-copy the file if a transfer was cut short; the messages before the damage "
            f"can still be read)")


def test_ros1_corrupted_op_code_of_a_chunk(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bag, chunks, counts = write_bag(tmp_path / "x.bag")
    path = damaged(tmp_path / "x.bag", bag, chunks[2].fields["op"], b"\x2a")
    with caplog.at_level(logging.WARNING), Ros1BagSource(path) as source:
        times, error = read_until_error(source)
        assert error == expect(path, chunks[2].offset, len(bag), "unknown record op code 0x2a", sum(counts[:2]))
        assert times == [BASE_NS + k for k in range(sum(counts[:2]))]
        with pytest.raises(SourceError, match=f"{sum(counts[:2])} messages before the damage"):
            source.statistics()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == f"{path}: bag index unreadable (42 is not a valid RecordType); scanning the chunks instead"


def test_ros1_corrupted_header_length(tmp_path: Path) -> None:
    bag, chunks, counts = write_bag(tmp_path / "x.bag")
    at = chunks[2].offset
    path = damaged(tmp_path / "x.bag", bag, at, struct.pack("<I", 0xFFFFFFF0))
    with Ros1BagSource(path) as source:
        _, error = read_until_error(source)
    what = f"record header at byte {at} claims {0xFFFFFFF0} bytes, {len(bag) - at - 4} remain"
    assert error == expect(path, at, len(bag), what, sum(counts[:2]))


def test_ros1_corrupted_data_length(tmp_path: Path) -> None:
    bag, chunks, counts = write_bag(tmp_path / "x.bag")
    chunk = chunks[3]
    path = damaged(tmp_path / "x.bag", bag, chunk.data_length_at, struct.pack("<I", 0xFFFFFFF0))
    with Ros1BagSource(path) as source:
        _, error = read_until_error(source)
    what = f"record data at byte {chunk.data_length_at} claims {0xFFFFFFF0} bytes, {len(bag) - chunk.data_start} remain"
    assert error == expect(path, chunk.offset, len(bag), what, sum(counts[:3]))


def test_ros1_corrupted_index_entry(tmp_path: Path) -> None:
    bag, chunks, counts = write_bag(tmp_path / "x.bag")
    index = next(r for r in ros1_records(bag) if r.op(bag) == 4 and r.offset > chunks[1].offset)
    entry_offset = index.data_start + 8  # (sec, nsec, offset) of the chunk's first message
    path = damaged(tmp_path / "x.bag", bag, entry_offset, struct.pack("<I", 0x00FFFFFF))
    with Ros1BagSource(path) as source:
        times, error = read_until_error(source)
    assert len(times) == counts[0]
    assert error == expect(path, chunks[1].offset, len(bag), "Header could not be read from file", counts[0])


@pytest.mark.parametrize("indexed", [True, False])
def test_ros1_connection_id_inside_a_chunk(tmp_path: Path, indexed: bool) -> None:
    bag, chunks, counts = write_bag(tmp_path / "x.bag")
    inner = ros1_records(bag, chunks[1].data_start, chunks[1].data_start + chunks[1].data_length)
    message = next(r for r in inner if r.op(bag) == 2)
    data = bytearray(bag)
    data[message.fields["conn"]:message.fields["conn"] + 4] = struct.pack("<I", 99)
    if not indexed:  # index_pos 0: the bag is scanned
        at = ros1_records(bag)[0].fields["index_pos"]
        data[at:at + 8] = bytes(8)
    path = tmp_path / "conn.bag"
    path.write_bytes(bytes(data))
    with Ros1BagSource(path) as source:
        times, error = read_until_error(source)
    what = "unknown connection or chunk 99" if indexed else "message on undefined connection 99"
    assert error == expect(path, chunks[1].offset, len(bag), what, counts[0])
    assert len(times) == counts[0]


@pytest.mark.parametrize(("compression", "what"), [
    ("bz2", "chunk does not decompress: Invalid data stream"),
    ("lz4", "chunk does not decompress: LZ4F_getFrameInfo failed with code: ERROR_frameType_unknown"),
])
def test_ros1_damaged_compressed_chunk(tmp_path: Path, compression: str, what: str) -> None:
    bag, chunks, counts = write_bag(tmp_path / "x.bag", compression)
    chunk = chunks[1]
    path = damaged(tmp_path / "x.bag", bag, chunk.data_start, bytes(4))  # the stream's magic
    with Ros1BagSource(path) as source:
        times, error = read_until_error(source)
    assert len(times) == counts[0]
    assert error == expect(path, chunk.offset, len(bag), what, counts[0])


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def run_limited(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m roboflow ARGS`` under a 3 GB address-space limit (a multi-GB allocation is a MemoryError)."""
    return subprocess.run([sys.executable, "-m", "roboflow", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, preexec_fn=_limited,
                          check=False)


def test_ros1_length_that_would_allocate_gigabytes_is_one_line(tmp_path: Path) -> None:
    bag, chunks, _ = write_bag(tmp_path / "x.bag", "lz4")
    chunk = chunks[0]
    path = damaged(tmp_path / "x.bag", bag, chunk.data_length_at, struct.pack("<I", 0xFFFFFF00))
    result = run_limited("inspect", str(path))
    assert result.returncode == 2, result.stderr
    what = f"record data at byte {chunk.data_length_at} claims {0xFFFFFF00} bytes, {len(bag) - chunk.data_start} remain"
    errors = [line for line in result.stderr.splitlines() if line.startswith("roboflow: error:")]
    assert errors == [f"roboflow: error: {expect(path, chunk.offset, len(bag), what, 0)}"]
    (warning,) = [line for line in result.stderr.splitlines() if line not in errors]  # the index: one line
    assert warning.endswith(f"{path}: bag index unreadable (unpack_from requires a buffer of at least 4 bytes for "
                            "unpacking 4 bytes at offset 0 (actual buffer size is 0)); scanning the chunks instead")


# --- MCAP ---------------------------------------------------------------------------------------


def mcap_records(data: bytes, start: int = 8, end: int | None = None) -> list[tuple[int, int, int]]:
    """(offset, opcode, length) of the records between ``start`` and ``end``."""
    end = len(data) if end is None else end
    out, position = [], start
    while position + 9 <= end:
        opcode, length = struct.unpack_from("<BQ", data, position)
        out.append((position, opcode, length))
        if opcode == 0x0F:  # magic follows the footer
            break
        position += 9 + length
    return out


def strings_mcap(path: Path, compression: str, count: int = 40) -> list[Msg]:
    messages = [Msg("/chatter", BASE_NS + k, string_msg(f"message number {k:04d}")) for k in range(count)]
    write_mcap(path, messages, compression=compression, chunk_size=256)
    return messages


def test_mcap_corrupted_summary_record_length_reads_by_scanning(tmp_path: Path) -> None:
    messages = strings_mcap(tmp_path / "x.mcap", "zstd")
    data = (tmp_path / "x.mcap").read_bytes()
    (summary_start,) = struct.unpack_from("<Q", data, len(data) - 8 - 29 + 9)
    path = damaged(tmp_path / "x.mcap", data, summary_start + 1, struct.pack("<Q", 1 << 40))
    with McapSource(path) as source:  # was a MemoryError: the summary reader allocated 1 TB
        assert [m.log_time for m in source.messages()] == [m.log_time for m in messages]
        assert sum(s.message_count for s in source.statistics().values()) == len(messages)


def test_mcap_message_index_offset_beyond_the_file_counts_by_reading(tmp_path: Path) -> None:
    messages = strings_mcap(tmp_path / "x.mcap", "zstd")
    data = (tmp_path / "x.mcap").read_bytes()
    (summary_start,) = struct.unpack_from("<Q", data, len(data) - 8 - 29 + 9)
    chunk_index = next(at for at, opcode, _ in mcap_records(data, summary_start) if opcode == 0x08)
    # body: start, end, chunk offset, chunk length (4 x u64), then the map's byte length (u32), channel id (u16)
    path = damaged(tmp_path / "x.mcap", data, chunk_index + 9 + 32 + 4 + 2, struct.pack("<Q", (1 << 63) + 5))
    with McapSource(path) as source:  # was OSError: [Errno 22] Invalid argument (a seek past 2**63)
        assert sum(s.message_count for s in source.statistics().values()) == len(messages)
        assert [m.log_time for m in source.messages()] == [m.log_time for m in messages]


def test_mcap_message_record_of_two_bytes_in_an_uncompressed_chunk(tmp_path: Path) -> None:
    strings_mcap(tmp_path / "x.mcap", "none")
    data = (tmp_path / "x.mcap").read_bytes()
    chunks = [(offset, length) for offset, opcode, length in mcap_records(data) if opcode == 0x06]
    counts = []
    for offset, length in chunks:
        (name_length,) = struct.unpack_from("<I", data, offset + 9 + 28)
        records = offset + 9 + 32 + name_length + 8
        inner = mcap_records(data, records, offset + 9 + length)
        counts.append(sum(1 for _, opcode, _ in inner if opcode == 0x05))
        if len(counts) == 3:
            message = next(at for at, opcode, _ in inner if opcode == 0x05)
    path = damaged(tmp_path / "x.mcap", data, message + 1, struct.pack("<Q", 2))
    with McapSource(path) as source:
        times, error = read_until_error(source)
    what = "chunk: a message record of 2 bytes, shorter than its 22-byte header"
    assert error == expect(path, chunks[2][0], len(data), what, sum(counts[:2]))
    assert times == [BASE_NS + k for k in range(sum(counts[:2]))]


# --- rosbag2: metadata.yaml -------------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_metadata_yaml_with_non_utf8_bytes_is_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    text = (bag / "metadata.yaml").read_bytes()
    at = text.index(b"sqlite3")
    (bag / "metadata.yaml").write_bytes(text[:at] + b"\xff" + text[at:])
    with caplog.at_level(logging.WARNING), Rosbag2Source(bag) as source:
        assert len(list(source.messages())) == 12
    assert _warnings(caplog) == [
        f"{bag}: metadata.yaml unreadable (not UTF-8 text: byte 0xff at offset {at}); reading the storage files directly"
    ]


def test_metadata_yaml_syntax_error_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    text = (bag / "metadata.yaml").read_text()
    (bag / "metadata.yaml").write_text("key: [unclosed\n" + text)
    with caplog.at_level(logging.WARNING), Rosbag2Source(bag) as source:
        assert len(list(source.messages())) == 12
    problem = "line 2, column 28: expected ',' or ']', but got ':'"
    assert _warnings(caplog) == [f"{bag}: metadata.yaml unreadable ({problem}); reading the storage files directly"]


def test_metadata_yaml_with_wrong_types_is_ignored_where_wrong(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    text = (bag / "metadata.yaml").read_text()
    for old, new in (("ros_distro: rosbags", "ros_distro: [jazzy]"), ("\n  message_count: 12", "\n  message_count: [1]"),
                     ("relative_file_paths:\n  - bag.db3", "relative_file_paths: 7")):
        assert old in text
        text = text.replace(old, new)
    (bag / "metadata.yaml").write_text(text)
    with Rosbag2Source(bag) as source:  # was "unhashable type: 'list'"
        assert [m.topic for m in source.messages()][:2] == ["/chatter", "/camera"]
        assert len(list(source.messages())) == 12


# --- rosbag2: SQLite rows that break the schema ------------------------------------------------


def edited_db(tmp_path: Path, table: str, statement: str) -> tuple[Path, Path]:
    bag = write_rosbag2(tmp_path / "bag")
    (db_path,) = bag.glob("*.db3")
    with sqlite3.connect(db_path) as db:
        loosen(db, table)
        db.execute(statement)
    db.close()
    return bag, db_path


HINT = "the .db3 file is damaged or was edited; re-copy it from the recording machine"


def test_message_row_with_a_topic_id_of_no_topic(tmp_path: Path) -> None:
    bag, db = edited_db(tmp_path, "messages", "UPDATE messages SET topic_id = 9999 WHERE id = 3")
    with pytest.raises(SourceError) as caught:
        Rosbag2Source(bag)  # metadata.yaml's message count is checked at open
    assert str(caught.value) == (f"{bag / db.name}: 1 message(s) refer to topic_id 9999, which is not in the topics "
                                 f"table (topic ids: 1, 2) ({HINT})")


@pytest.mark.parametrize(("value", "shown"), [("'soon'", "str 'soon'"), ("1.5e18", "float 1.5e+18"),
                                              ("1.77e21", "float 1.77e+21"), ("NULL", "NULL")])
def test_message_row_with_a_timestamp_that_is_not_an_integer(tmp_path: Path, value: str, shown: str) -> None:
    bag, db = edited_db(tmp_path, "messages", f"UPDATE messages SET timestamp = {value} WHERE id = 4")
    (bag / "metadata.yaml").unlink()  # the rows are read, not only counted
    with Rosbag2Source(bag) as source:
        with pytest.raises(SourceError) as caught:
            source.statistics()
        assert str(caught.value) == (f"{bag / db.name}: messages row 4: timestamp is {shown}, rosbag2 writes "
                                     f"integer nanoseconds ({HINT})")
        with pytest.raises(SourceError, match="messages row 4: timestamp is"):
            list(source.messages())


@pytest.mark.parametrize(("statement", "what"), [
    ("UPDATE topics SET name = NULL WHERE id = 1", "topics row 1: name is NULL"),
    ("UPDATE topics SET name = x'ff00' WHERE id = 2", "topics row 2: name is bytes b'\\xff\\x00'"),
    ("UPDATE topics SET type = NULL WHERE id = 2", "topics row 2: type is NULL"),
    ("UPDATE topics SET type = x'c328' WHERE id = 1", "topics row 1: type is bytes b'\\xc3('"),
])
def test_topic_row_with_null_or_blob_name_or_type(tmp_path: Path, statement: str, what: str) -> None:
    bag, db = edited_db(tmp_path, "topics", statement)
    with pytest.raises(SourceError) as caught:
        Rosbag2Source(bag)
    assert str(caught.value) == f"{bag / db.name}: {what}, rosbag2 writes non-empty text ({HINT})"


def test_topic_name_that_is_not_utf8_text(tmp_path: Path) -> None:
    bag, db = edited_db(tmp_path, "topics", "UPDATE topics SET name = CAST(x'2fff' AS TEXT) WHERE id = 1")
    with pytest.raises(SourceError) as caught:
        Rosbag2Source(bag)  # was UnicodeDecodeError
    assert str(caught.value) == (f"{bag / db.name}: unreadable rosbag2 tables: Could not decode to UTF-8 column "
                                 "'name' with text '/\ufffd' (the .db3 file is damaged; re-copy it)")


def test_definitions_stored_as_blob_are_read(tmp_path: Path) -> None:
    bag, _ = edited_db(tmp_path, "message_definitions",
                       "UPDATE message_definitions SET encoded_message_definition = CAST(encoded_message_definition "
                       "AS BLOB)")
    with Rosbag2Source(bag) as source:  # was "'bytes' object has no attribute 'encode'"
        channel = next(ch for ch in source.channels if ch.topic == "/chatter")
        assert channel.schema is not None and channel.schema.data == b"string data\n"
        message = next(source.messages(["/chatter"]))
        assert decoder_for(channel)(message.data).data == "hi 0"  # type: ignore[attr-defined]


# --- message definitions -----------------------------------------------------------------------


def _channel(name: str, definition: str) -> Channel:
    return Channel(1, "/t", "cdr", Schema(name, "ros2msg", definition.encode()), {})


def test_self_referencing_definition() -> None:
    with pytest.raises(SourceError) as caught:
        decoder_for(_channel("foo_msgs/msg/Loop", "float64 x\nfoo_msgs/msg/Loop child\n"))
    assert str(caught.value) == (
        "the stored definition of foo_msgs/msg/Loop for /t cannot be used (the definition is recursive: "
        "foo_msgs/msg/Loop -> foo_msgs/msg/Loop) and the built-in latest types do not include it "
        "(the recording's message definition is damaged; re-copy the recording)")


def test_definition_with_a_constant_of_1e999() -> None:
    with pytest.raises(SourceError) as caught:
        decoder_for(_channel("foo_msgs/msg/Big", "float64 x\nint32 BIG=1e999\n"))
    assert str(caught.value).startswith(
        "the stored definition of foo_msgs/msg/Big for /t cannot be used (a constant rosbags cannot write as code, "
        "such as 1e999: name 'inf' is not defined) and the built-in latest types do not include it")


def test_a_known_type_with_a_broken_definition_falls_back_with_one_line(caplog: pytest.LogCaptureFixture) -> None:
    channel = _channel(STRING, "string data\n=====\n%%% not a field\nint32 y\n")
    with caplog.at_level(logging.WARNING):
        decode = decoder_for(channel)
    assert decode(string_msg("still read")).data == "still read"  # type: ignore[attr-defined]
    (warning,) = _warnings(caplog)
    assert "\n" not in warning
    assert warning.startswith(f"/t: the stored definition of {STRING} cannot be used (Could not parse")
    assert warning.endswith("; trying built-in latest types")


def test_joint_state_definition_without_position() -> None:
    definition = "std_msgs/Header header\nstring[] name\nfloat64[] velocity\nfloat64[] effort\n"
    store = get_typestore(Stores.ROS2_HUMBLE)
    store.fielddefs.pop("sensor_msgs/msg/JointState")
    store.types.pop("sensor_msgs/msg/JointState")
    store.register(get_types_from_msg(definition, "sensor_msgs/msg/JointState"))
    types = store.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=3, nanosec=0), frame_id="")
    payload = store.serialize_cdr(types["sensor_msgs/msg/JointState"](
        header=header, name=["a"], velocity=np.zeros(1), effort=np.zeros(1)), "sensor_msgs/msg/JointState")
    message = decoder_for(_channel("sensor_msgs/msg/JointState", definition))(bytes(payload))
    extractor = vector_extractor(TopicInput("/t"), "sensor_msgs/msg/JointState")
    with pytest.raises(SourceError) as caught:  # was AttributeError
        extractor(message, 3_000_000_000)
    assert str(caught.value) == ("/t at t=3.000000 s: the JointState has no field 'position' (the recording's "
                                 "definition of sensor_msgs/JointState lacks it; map the fields it has with 'fields')")


def test_the_cli_prints_one_line_for_a_damaged_recording(tmp_path: Path) -> None:
    bag, db = edited_db(tmp_path, "messages", "UPDATE messages SET topic_id = 9999 WHERE id = 3")
    result = run_limited("inspect", str(bag))
    assert result.returncode == 2
    what = "1 message(s) refer to topic_id 9999, which is not in the topics table (topic ids: 1, 2)"
    assert result.stderr.splitlines() == [f"roboflow: error: {bag / db.name}: {what} ({HINT})"]
    assert re.fullmatch(r"\s*", result.stdout)

