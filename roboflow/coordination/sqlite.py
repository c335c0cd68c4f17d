"""The embedded state store for one machine: one SQLite file shared by every process on the host.

WAL mode lets readers run beside the single writer; every write transaction starts with
``BEGIN IMMEDIATE``, which takes the database's write lock up front, so write transactions are
serialized and never fail half-way on a lock upgrade. Losing the wait for that lock (longer than
``busy_timeout_s``) is reported as :class:`ConflictError`, which :func:`run_transaction` retries, so the
behaviour callers see matches the TiKV store: serializable transactions, races resolved by re-running.
Connections are per thread and per process (opened lazily, re-opened after ``fork``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from roboflow.coordination.errors import ConflictError, StoreUnavailableError
from roboflow.coordination.store import TransactionFunction, key_range
from roboflow.errors import ConfigError, StateError
from roboflow.resilience import RetryPolicy, breaker_for

__all__ = ["SqliteConfig", "SqliteStore"]

T = TypeVar("T")

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"


@dataclass(frozen=True, slots=True)
class SqliteConfig:
    """Tuning of the SQLite store.

    Attributes:
        busy_timeout_s: How long a writer waits for the write lock before the attempt counts as a conflict.
        breaker_failures: Consecutive failures that open the circuit breaker.
        breaker_reset_s: Seconds the breaker stays open before a probe.
    """

    busy_timeout_s: float = 5.0
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0


def _is_busy(err: sqlite3.Error) -> bool:
    return isinstance(err, sqlite3.OperationalError) and ("locked" in str(err) or "busy" in str(err))


def _classify(err: sqlite3.Error, url: str) -> StateError:
    text = str(err)
    if _is_busy(err):
        return ConflictError(f"lost the wait for the write lock: {text}", path=url)
    if isinstance(err, sqlite3.OperationalError):
        return StoreUnavailableError(
            text, path=url, hint="check that the file's directory exists and is writable"
        )
    return StateError(f"SQLite failed: {text}", path=url)


class _SqliteTransaction:
    def __init__(self, store: SqliteStore, conn: sqlite3.Connection, *, readonly: bool) -> None:
        self._store = store
        self._conn = conn
        self._url = store.url
        self._readonly = readonly
        self._now: int | None = None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as err:
            raise _classify(err, self._url) from err

    def _writable(self) -> None:
        if self._readonly:
            raise StateError("write in a read-only transaction", path=self._url)

    def get(self, key: str) -> bytes | None:
        with self._guard():
            row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key.encode(),)).fetchone()
        return None if row is None else bytes(row[0])

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self._guard():
            rows = self._conn.execute(
                f"SELECT key, value FROM kv WHERE key IN ({marks})", [k.encode() for k in keys]
            )
            return {bytes(k).decode(): bytes(v) for k, v in rows}

    def scan(self, prefix: str, limit: int | None = None) -> list[tuple[str, bytes]]:
        start, end = key_range(prefix)
        sql = "SELECT key, value FROM kv WHERE key >= ?"
        args: list[object] = [start]
        if end is not None:
            sql, args = f"{sql} AND key < ?", [*args, end]
        sql += " ORDER BY key"
        if limit is not None:
            sql, args = f"{sql} LIMIT ?", [*args, limit]
        with self._guard():
            return [(bytes(k).decode(), bytes(v)) for k, v in self._conn.execute(sql, args)]

    def put(self, key: str, value: bytes) -> None:
        self._writable()
        with self._guard():
            self._conn.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key.encode(), value),
            )

    def delete(self, key: str) -> None:
        self._writable()
        with self._guard():
            self._conn.execute("DELETE FROM kv WHERE key = ?", (key.encode(),))

    def lock(self, key: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the database's write lock."""
        self._writable()

    def now_ms(self) -> int:
        if self._now is None:
            self._now = self._store.now_ms()
        return self._now


class SqliteStore:
    """State store in one SQLite file (``sqlite:///abs/path.db`` or ``sqlite://relative/path.db``).

    Args:
        path: The database file (created with its directory if missing).
        config: Tuning.
        clock: Seconds since the epoch; the host clock, which all processes on the host share (tests
            pass a clock they can move forward).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: SqliteConfig = SqliteConfig(),
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path).expanduser().resolve()
        self.config = config
        self._clock = clock
        self.url = f"sqlite://{self.path}"
        self.breaker = breaker_for(
            f"state:{self.url}", failure_threshold=config.breaker_failures, timeout=config.breaker_reset_s
        )
        self.retry_policy = RetryPolicy(max_retries=3, base_delay=0.1, max_delay=2.0)
        self._local = threading.local()
        self._conns: list[tuple[int, sqlite3.Connection]] = []
        self._mu = threading.Lock()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, config: SqliteConfig = SqliteConfig()) -> SqliteStore:
        """Open ``sqlite:///abs/path.db`` (absolute) or ``sqlite://rel/path.db`` (relative to the cwd)."""
        parts = urlsplit(url)
        path = parts.netloc + parts.path
        if parts.scheme != "sqlite" or not path:
            raise ConfigError(
                f"not a SQLite state-store URL: {url!r}", hint="use sqlite:///absolute/path/state.db"
            )
        if path == ":memory:":
            raise ConfigError(
                "an in-memory SQLite database cannot be shared between processes", hint="use a file path"
            )
        return cls(path, config)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StateError("the state store is closed", path=self.url)
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == pid:
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.config.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
        except OSError as err:
            raise StoreUnavailableError(f"cannot create the state store: {err}", path=self.url) from err
        except sqlite3.Error as err:
            raise _classify(err, self.url) from err
        self._local.conn, self._local.pid = conn, pid
        with self._mu:
            self._conns.append((pid, conn))
        return conn

    def run_once(self, fn: TransactionFunction[T], *, readonly: bool = False) -> T:
        conn = self._connection()
        try:
            conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise _classify(err, self.url) from err
        finished = False
        try:
            result = fn(_SqliteTransaction(self, conn, readonly=readonly))
            conn.execute("COMMIT")
            finished = True
            return result
        except sqlite3.Error as err:
            raise _classify(err, self.url) from err
        finally:
            if not finished:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the transaction is already gone (e.g. the failed COMMIT rolled it back)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def close(self) -> None:
        with self._mu:
            conns, self._conns = self._conns, []
            self._closed = True
        pid = os.getpid()
        for owner, conn in conns:
            if owner == pid:  # a forked child must not close its parent's handles
                conn.close()
