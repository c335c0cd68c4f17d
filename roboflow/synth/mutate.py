"""Damaged copies of recordings, for the mutation fuzz test and ``bench/fuzz.py``.

``mutate(source, target, rng)`` copies a recording (file or rosbag2 directory) to ``target`` and
damages the copy in one way chosen by ``rng``: truncation, bit flips, an overwritten, duplicated or
deleted block, a corrupted length field (found by walking the MCAP or ROS1 record framing, so it hits
real lengths rather than random bytes), or for rosbag2 a broken ``metadata.yaml`` or SQLite rows that
break the schema's promises. The same seed always gives the same damage.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path

__all__ = ["BYTE_MUTATIONS", "loosen", "mutate"]

_MCAP_MAGIC = b"\x89MCAP0\r\n"
_BAG_MAGIC = b"#ROSBAG V2.0\n"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_MAX_FIELDS = 4096


# --- byte-level damage ------------------------------------------------------------------------


def _truncate(data: bytearray, rng: random.Random) -> str:
    cut = rng.randrange(len(data))
    del data[cut:]
    return f"truncated at {cut}"


def _bit_flips(data: bytearray, rng: random.Random) -> str:
    positions = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 8)))
    for position in positions:
        data[position] ^= 1 << rng.randrange(8)
    return f"bits flipped at {positions}"


def _block(data: bytearray, rng: random.Random) -> tuple[int, int]:
    start = rng.randrange(len(data))
    return start, min(len(data) - start, rng.choice((1, 4, 16, 64, 512)))


def _overwrite(data: bytearray, rng: random.Random) -> str:
    start, size = _block(data, rng)
    data[start:start + size] = rng.randbytes(size)
    return f"{size} bytes overwritten at {start}"


def _duplicate(data: bytearray, rng: random.Random) -> str:
    start, size = _block(data, rng)
    where = rng.randrange(len(data) + 1)
    data[where:where] = data[start:start + size]
    return f"{size} bytes from {start} inserted at {where}"


def _delete(data: bytearray, rng: random.Random) -> str:
    start, size = _block(data, rng)
    del data[start:start + size]
    return f"{size} bytes deleted at {start}"


def _length_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, width in bytes) of length fields found by walking the record framing."""
    if data.startswith(_MCAP_MAGIC):
        return _mcap_lengths(data, len(_MCAP_MAGIC))
    if data.startswith(_BAG_MAGIC):
        return _ros1_lengths(data, len(_BAG_MAGIC))
    return []


def _mcap_lengths(data: bytes, position: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    while position + 9 <= len(data) and len(found) < _MAX_FIELDS:
        opcode, length = struct.unpack_from("<BQ", data, position)
        found.append((position + 1, 8))
        body = position + 9
        if opcode == 0x06 and body + 32 <= len(data):  # chunk: its records length, and records if uncompressed
            (name_length,) = struct.unpack_from("<I", data, body + 28)
            records = body + 32 + name_length
            if records + 8 <= len(data):
                found.append((records, 8))
                if name_length == 0:
                    (size,) = struct.unpack_from("<Q", data, records)
                    found += [(offset, width) for offset, width in
                              _mcap_lengths(data[: records + 8 + size], records + 8)]
        position = body + length
    return found


def _ros1_lengths(data: bytes, position: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    while position + 4 <= len(data) and len(found) < _MAX_FIELDS:
        found.append((position, 4))
        (header_length,) = struct.unpack_from("<I", data, position)
        field = position + 4
        end = field + header_length
        while field + 4 <= min(end, len(data)):
            found.append((field, 4))
            field += 4 + struct.unpack_from("<I", data, field)[0]
        if end + 4 > len(data):
            break
        found.append((end, 4))
        (data_length,) = struct.unpack_from("<I", data, end)
        position = end + 4 + data_length
    return found


def _length(data: bytearray, rng: random.Random) -> str:
    fields = _length_fields(bytes(data))
    if fields:
        offset, width = rng.choice(fields)
    else:
        width = rng.choice((4, 8))
        offset = rng.randrange(max(1, len(data) - width))
    fmt = "<I" if width == 4 else "<Q"
    (old,) = struct.unpack_from(fmt, data, offset) if offset + width <= len(data) else (0,)
    limit = (1 << (8 * width)) - 1
    new = rng.choice((0, 1, 2, old - 1, old + 1, old * 2, limit, limit // 2, 3 << 30, rng.randrange(limit)))
    new = min(max(new, 0), limit)
    data[offset:offset + width] = struct.pack(fmt, new)[: len(data) - offset]
    return f"length field at {offset} set from {old} to {new}"


#: name -> damage of a bytearray in place (returns what was done).
BYTE_MUTATIONS: dict[str, Callable[[bytearray, random.Random], str]] = {
    "truncate": _truncate,
    "bitflip": _bit_flips,
    "overwrite": _overwrite,
    "duplicate": _duplicate,
    "delete": _delete,
    "length": _length,
}


def _damage_file(path: Path, rng: random.Random) -> str:
    data = bytearray(path.read_bytes())
    if not data:
        return "empty file left as is"
    name = rng.choice(sorted(BYTE_MUTATIONS))
    what = BYTE_MUTATIONS[name](data, rng)
    path.write_bytes(bytes(data))
    return f"{name}: {what}"


# --- rosbag2: metadata.yaml and SQLite rows ---------------------------------------------------

_YAML_EDITS: tuple[Callable[[str, random.Random], str], ...] = (
    lambda text, rng: text.replace("message_count:", "message_count: [1, 2]\n  x:", 1),
    lambda text, rng: text.replace("relative_file_paths:", "relative_file_paths: 7\n  y:", 1),
    lambda text, rng: text.replace("topics_with_message_count:", "topics_with_message_count: {a: [b]}\n  z:", 1),
    lambda text, rng: text.replace("ros_distro:", "ros_distro: [jazzy]\n  w:", 1),
    lambda text, rng: text.replace("version:", "version: {}\n  v:", 1),
    lambda text, rng: text[: rng.randrange(len(text) + 1)],
    lambda text, rng: "\t" + text,
    lambda text, rng: "- " + text.replace("\n", "\n  "),
    lambda text, rng: text.replace("rosbag2_bagfile_information:", "rosbag2_bagfile_information: 3\n", 1),
    lambda text, rng: "key: [unclosed\n" + text,
)


def _damage_yaml(path: Path, rng: random.Random) -> str:
    choice = rng.randrange(len(_YAML_EDITS) + 1)
    if choice == len(_YAML_EDITS):
        data = bytearray(path.read_bytes())
        where = rng.randrange(len(data) + 1)
        data[where:where] = b"\xff\xfe\xc3("
        path.write_bytes(bytes(data))
        return f"metadata.yaml: non-UTF-8 bytes at {where}"
    path.write_text(_YAML_EDITS[choice](path.read_text(), rng))
    return f"metadata.yaml: edit {choice}"


_SQL_EDITS = (
    "UPDATE messages SET topic_id = 9999 WHERE id = (SELECT MIN(id) FROM messages)",
    "UPDATE messages SET timestamp = 'soon' WHERE id = (SELECT MAX(id) FROM messages)",
    "UPDATE messages SET timestamp = 1.5e18 WHERE id = (SELECT MIN(id) FROM messages)",
    "UPDATE messages SET timestamp = 9223372036854775807 WHERE id = (SELECT MAX(id) FROM messages)",
    "UPDATE messages SET timestamp = -5 WHERE id = (SELECT MIN(id) FROM messages)",
    "UPDATE messages SET timestamp = NULL WHERE id = (SELECT MIN(id) FROM messages)",
    "UPDATE messages SET data = NULL WHERE id = (SELECT MIN(id) FROM messages)",
    "UPDATE messages SET data = 'text' WHERE id = (SELECT MAX(id) FROM messages)",
    "UPDATE messages SET data = x'0001' WHERE id = (SELECT MAX(id) FROM messages)",
    "UPDATE topics SET name = NULL WHERE id = (SELECT MIN(id) FROM topics)",
    "UPDATE topics SET name = x'ff00' WHERE id = (SELECT MAX(id) FROM topics)",
    "UPDATE topics SET type = NULL WHERE id = (SELECT MIN(id) FROM topics)",
    "UPDATE topics SET type = x'c328' WHERE id = (SELECT MAX(id) FROM topics)",
    "UPDATE topics SET type = 'no_such_pkg/msg/Thing' WHERE id = (SELECT MIN(id) FROM topics)",
    "UPDATE topics SET serialization_format = NULL WHERE id = (SELECT MIN(id) FROM topics)",
    "UPDATE topics SET id = 'seven' WHERE id = (SELECT MAX(id) FROM topics)",
    "UPDATE topics SET offered_qos_profiles = x'00ff' WHERE id = (SELECT MIN(id) FROM topics)",
    "DELETE FROM topics WHERE id = (SELECT MIN(id) FROM topics)",
    "UPDATE message_definitions SET encoded_message_definition = 'float64 x\nint32 BIG=1e999'",
    ("UPDATE message_definitions SET encoded_message_definition = "
     "topic_type || ' child' WHERE id = (SELECT MIN(id) FROM message_definitions)"),
    "UPDATE message_definitions SET encoded_message_definition = x'ff'",
    "UPDATE message_definitions SET encoded_message_definition = NULL",
    "UPDATE message_definitions SET encoding = 'ros2idl'",
    "UPDATE schema SET ros_distro = x'00'",
)


def loosen(db: sqlite3.Connection, table: str) -> None:
    """Rebuild ``table`` without column types and constraints, so rows can break rosbag2's promises."""
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    db.execute(f"ALTER TABLE {table} RENAME TO {table}_strict")
    db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
    db.execute(f"INSERT INTO {table} SELECT * FROM {table}_strict")
    db.execute(f"DROP TABLE {table}_strict")


def _damage_sqlite(path: Path, rng: random.Random) -> str:
    statement = rng.choice(_SQL_EDITS)
    with sqlite3.connect(path) as db:
        try:
            loosen(db, statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2])
            db.execute(statement)
        except sqlite3.DatabaseError as err:  # e.g. a table this file does not have
            return f"sqlite: {statement} (not applied: {err})"
    db.close()
    return f"sqlite: {statement}"


def mutate(source: Path, target: Path, rng: random.Random) -> str:
    """Copy ``source`` (file or rosbag2 directory) to ``target`` and damage the copy; returns what was done."""
    if source.is_dir():
        shutil.copytree(source, target)
        files = sorted(path for path in target.iterdir() if path.is_file())
        path = rng.choice(files)
        if path.name == "metadata.yaml":
            return _damage_yaml(path, rng)
        with path.open("rb") as stream:
            is_sqlite = stream.read(16) == _SQLITE_MAGIC
        if is_sqlite and rng.random() < 0.6:
            return f"{path.name}: {_damage_sqlite(path, rng)}"
        return f"{path.name}: {_damage_file(path, rng)}"
    shutil.copyfile(source, target)
    return _damage_file(target, rng)
