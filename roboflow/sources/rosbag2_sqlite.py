"""One rosbag2 SQLite storage file (``.db3``), read with the ``sqlite3`` module.

The file is opened read-only and ``immutable`` (recordings often sit in read-only directories
beside empty ``-shm``/``-wal`` files). A non-empty ``-wal`` file holds committed data that
immutable mode would ignore, so then the database and its WAL are copied to a temporary directory
and opened normally. Message definitions come from the ``message_definitions`` table when the
file has one (rosbag2 Iron and later), else the type name alone is known.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from urllib.parse import quote

from roboflow.errors import SourceError, one_line
from roboflow.sources.base import ChannelStats, Schema
from roboflow.sources.rosbag2_base import StorageTopic

__all__ = ["SqliteStorage"]


class SqliteStorage:
    """Read access to one ``.db3`` file.

    Args:
        path: The database file (a real file: SQLite cannot read from a stream).
        name: Name used in errors.

    Raises:
        SourceError: Not a SQLite database, or no ``messages``/``topics`` tables.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        wal = path.with_name(path.name + "-wal")
        try:
            if wal.exists() and wal.stat().st_size > 0:
                self._tempdir = tempfile.TemporaryDirectory(prefix="roboflow-db3-")
                copy = Path(self._tempdir.name) / path.name
                shutil.copyfile(path, copy)
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
                self._db = sqlite3.connect(copy)
            else:
                self._db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?immutable=1&mode=ro", uri=True)
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except (sqlite3.DatabaseError, UnicodeDecodeError) as err:
            self.close()
            raise SourceError(f"not a readable SQLite database: {_problem(err)}", path=name,
                              hint="the .db3 file is damaged or not a rosbag2 storage file") from err
        if not {"messages", "topics"} <= tables:
            self.close()
            raise SourceError("SQLite file without rosbag2 'messages'/'topics' tables", path=name,
                              hint="this .db3 file was not written by rosbag2")
        try:
            row = self._db.execute("SELECT ros_distro FROM schema").fetchone() if "schema" in tables else None
            self.distro = row[0] if row and isinstance(row[0], str) else ""
            self._topics = self._read_topics("message_definitions" in tables)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as err:
            self.close()
            raise SourceError(f"unreadable rosbag2 tables: {_problem(err)}", path=name,
                              hint="the .db3 file is damaged; re-copy it") from err

    def topics(self) -> list[StorageTopic]:
        """The rows of the ``topics`` table."""
        return self._topics

    def _read_topics(self, has_definitions: bool) -> list[StorageTopic]:
        definitions: dict[str, tuple[str, bytes]] = {}
        if has_definitions:
            for type_name, encoding, text in self._db.execute(
                "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"
            ):
                if isinstance(type_name, str):
                    definitions[type_name] = (encoding if isinstance(encoding, str) else "", _blob(text))
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(topics)")}
        qos = "offered_qos_profiles" if "offered_qos_profiles" in columns else "''"
        topics = []
        for row in self._db.execute(f"SELECT id, name, type, serialization_format, {qos} FROM topics ORDER BY id"):
            topic_id, name, type_name, fmt, profiles = self._checked_topic(row)
            encoding, text = definitions.get(type_name, ("", b""))
            schema = Schema(type_name, encoding if text else "", text)
            metadata = {"offered_qos_profiles": profiles} if profiles else {}
            topics.append(StorageTopic(topic_id, name, fmt, schema, metadata))
        return topics

    def _checked_topic(self, row: tuple[object, ...]) -> tuple[int, str, str, str, str]:
        """A ``topics`` row with the types rosbag2 writes (QoS profiles may be anything: they are only shown)."""
        topic_id, name, type_name, fmt, profiles = row
        if not isinstance(topic_id, int):
            raise self._broken(f"topics row with id {topic_id!r}", "id", topic_id, "an integer")
        for column, value in (("name", name), ("type", type_name), ("serialization_format", fmt)):
            if not isinstance(value, str) or not value:
                raise self._broken(f"topics row {topic_id}", column, value, "non-empty text")
        return topic_id, name, type_name, fmt, profiles if isinstance(profiles, str) else ""  # type: ignore[return-value]

    def _broken(self, where: str, column: str, value: object, expected: str) -> SourceError:
        shown = "NULL" if value is None else f"{type(value).__name__} {one_line(repr(value), 40)}"
        return SourceError(f"{where}: {column} is {shown}, rosbag2 writes {expected}", path=self.name,
                           hint="the .db3 file is damaged or was edited; re-copy it from the recording machine")

    def statistics(self) -> dict[int, ChannelStats]:
        """Per topic id: message count and timestamp range.

        Raises:
            SourceError: A message row refers to no topic, or its timestamp is not an integer.
        """
        stats = {topic.id: ChannelStats(0, None, None) for topic in self._topics}
        try:
            rows = self._db.execute(
                "SELECT topic_id, COUNT(*), MIN(timestamp), MAX(timestamp), SUM(typeof(timestamp) != 'integer') "
                "FROM messages GROUP BY topic_id"
            ).fetchall()
            bad = self._db.execute(
                "SELECT id, topic_id, timestamp FROM messages WHERE typeof(timestamp) != 'integer' "
                "OR typeof(topic_id) != 'integer' LIMIT 1"
            ).fetchone() if any(row[4] or row[0] not in stats for row in rows) else None
        except sqlite3.DatabaseError as err:
            raise SourceError(f"counting messages failed: {one_line(err)}", path=self.name,
                              hint="the .db3 file is damaged; re-copy it") from err
        if bad is not None:
            self._check_row(*bad)
        for topic_id, count, first, last, _ in rows:
            if topic_id not in stats:
                raise self._orphans(topic_id, count)
            stats[topic_id] = ChannelStats(count, first, last)
        return stats

    def _check_row(self, row_id: object, topic_id: object, timestamp: object) -> None:
        if not isinstance(topic_id, int):
            raise self._broken(f"messages row {row_id}", "topic_id", topic_id, "an integer")
        if not isinstance(timestamp, int):
            raise self._broken(f"messages row {row_id}", "timestamp", timestamp, "integer nanoseconds")

    def _orphans(self, topic_id: object, count: int) -> SourceError:
        known = ", ".join(str(topic.id) for topic in self._topics) or "none"
        return SourceError(f"{count} message(s) refer to topic_id {topic_id!r}, which is not in the topics table "
                           f"(topic ids: {known})", path=self.name,
                           hint="the .db3 file is damaged or was edited; re-copy it from the recording machine")

    def messages(
        self, topic_ids: Collection[int] | None, start: int | None, stop: int | None
    ) -> Iterator[tuple[int, int, bytes]]:
        """(topic id, timestamp, data) in timestamp order (ties in insertion order).

        Raises:
            SourceError: A row breaks the schema (no such topic, a timestamp that is not an integer, no data).
        """
        clauses: list[str] = []
        params: list[int] = []
        if topic_ids is not None:
            clauses.append(f"topic_id IN ({','.join('?' * len(topic_ids))})")
            params.extend(topic_ids)
        if start is not None:
            clauses.append("timestamp >= ?")
            params.append(start)
        if stop is not None:
            clauses.append("timestamp < ?")
            params.append(stop)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        known = {topic.id for topic in self._topics}
        try:
            query = f"SELECT id, topic_id, timestamp, data FROM messages {where} ORDER BY timestamp"
            for row_id, topic_id, timestamp, data in self._db.execute(query, params):
                self._check_row(row_id, topic_id, timestamp)
                if topic_id not in known:
                    raise self._orphans(topic_id, 1)
                if not isinstance(data, bytes):
                    raise self._broken(f"messages row {row_id}", "data", data, "a BLOB")
                yield topic_id, timestamp, data
        except sqlite3.DatabaseError as err:
            raise SourceError(f"reading messages failed: {one_line(err)}", path=self.name,
                              hint="the .db3 file is damaged; re-copy it") from err

    def close(self) -> None:
        """Close the database and remove any temporary copy. Idempotent."""
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None  # type: ignore[assignment]
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _blob(value: object) -> bytes:
    """A definition column as bytes (rosbag2 writes text; a damaged row may hold a BLOB or NULL)."""
    if isinstance(value, str):
        return value.encode()
    return value if isinstance(value, bytes) else b""


def _problem(err: sqlite3.DatabaseError | UnicodeDecodeError) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"text that is not UTF-8 ({err.reason} at byte {err.start})"
    return one_line(err)
