"""The TiKV state store, on ``tikv-client`` 0.0.4's transactional API (never its raw API).

How the client is driven, and why:

* Every client call runs as a coroutine on one private event-loop thread per process. The wheel's sync
  wrappers call ``run_until_complete`` on the caller's loop, which fails inside a running loop and in
  threads without one; the private loop works from any thread. The native class is used directly because
  the wheel's Python wrappers do not pass a request timeout through and do not expose ``gc``.
* The client is created on first use and again after ``fork`` (never at import). A client whose PD
  stream broke (``TimestampRequest channel is closed``) never recovers, so any unavailability drops it
  and the next transaction connects afresh.
* Errors are plain ``Exception(str)``, classified by their text (:mod:`.tikv_errors`) into
  :class:`ConflictError`, :class:`StoreUnavailableError` or :class:`StateError`.
* A transaction that did not commit is always rolled back (the client panics when an active transaction
  is dropped, and its locks would linger until their TTL).
* Commits are verified by reading the written keys back at the commit timestamp (``verify_commits``). client-rust b12f95e (the
  0.0.4 wheel) swallows a failed region lookup while sharding a prewrite or commit
  (``stream::iter(Err(e))`` in ``transaction/requests.rs`` yields nothing), so after a gRPC error on
  prewrite followed by a failing PD ``GetRegion``, ``commit()`` returns a timestamp although nothing was
  written. A mismatch is reported as :class:`StoreUnavailableError` (outcome unknown, retried).
* TiKV collects old MVCC versions only when told: every ``gc_interval_s`` one process of the fleet (the
  one that wins a transaction on ``roboflow/meta/gc``) calls ``gc`` with a safe point ``gc_lifetime_s``
  behind PD's clock and behind every transaction still open in that process. ``gc`` rolls back locks
  older than the safe point, so no transaction may live longer than ``gc_lifetime_s``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any, TypeVar
from urllib.parse import urlsplit

from roboflow.coordination.errors import StoreUnavailableError
from roboflow.coordination.keys import GC_KEY
from roboflow.coordination.store import Transaction, TransactionFunction, key_range, run_transaction
from roboflow.coordination.tikv_errors import classify_error
from roboflow.errors import ConfigError, StateError
from roboflow.resilience import RetryPolicy, breaker_for

__all__ = ["ENV_PD_ENDPOINTS", "TikvConfig", "TikvStore", "parse_endpoints"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Comma-separated PD endpoints used when a ``tikv://`` URL names none.
ENV_PD_ENDPOINTS = "TIKV_PD_ENDPOINTS"
_PHYSICAL_SHIFT = 18
_SCAN_PAGE = 1024
_UNFINISHED: list[Any] = []  # native transactions whose rollback never started: dropping them would panic
_NATIVE_PID: int | None = None  # the process whose tokio runtime the native module started


@dataclass(frozen=True, slots=True)
class TikvConfig:
    """Tuning of the TiKV store.

    Attributes:
        request_timeout_s: The client's timeout for one gRPC request.
        call_timeout_s: Upper bound for one client call including its internal retries and backoff.
        gc_interval_s: How often the fleet collects old versions (0 disables the automatic gc).
        gc_lifetime_s: How far the gc safe point stays behind PD's clock; the longest a transaction may live.
        breaker_failures: Consecutive failures that open the circuit breaker.
        breaker_reset_s: Seconds the breaker stays open before a probe.
        verify_commits: Read the written keys back after each commit (see the module docstring).
    """

    request_timeout_s: float = 2.0
    call_timeout_s: float = 10.0
    gc_interval_s: float = 600.0
    gc_lifetime_s: float = 600.0
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    verify_commits: bool = True


def parse_endpoints(text: str) -> list[str]:
    """``"pd1:2379, http://pd2:2379"`` → ``["pd1:2379", "pd2:2379"]``."""
    endpoints = [part.strip().removeprefix("http://") for part in text.split(",")]
    return [e for e in endpoints if e]


class _Connection:
    """One process's event-loop thread and native client."""

    def __init__(self, endpoints: list[str], config: TikvConfig, url: str) -> None:
        global _NATIVE_PID
        self.pid = os.getpid()
        if _NATIVE_PID is not None and _NATIVE_PID != self.pid:
            raise StateError(
                f"the TiKV client was used in process {_NATIVE_PID} before this process was forked from it;"
                " its runtime does not survive fork",
                path=url,
                hint="open the state store only in the forked workers, e.g. in Celery's worker_process_init",
            )
        _NATIVE_PID = self.pid
        self._config = config
        self._url = url
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="tikv-client-loop", daemon=True)
        self._thread.start()
        _OPEN_CONNECTIONS.add(self)
        from tikv_client import tikv_client as native  # imported on first use: a heavy native module

        try:
            self.client = self.call(native.TransactionClient.connect, endpoints, config.request_timeout_s)
        except BaseException:
            self.close()
            raise

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Await ``func(*args)`` on the loop thread (native methods need a running loop when called)."""

        async def invoke() -> Any:
            return await func(*args)

        future = asyncio.run_coroutine_threadsafe(invoke(), self.loop)
        try:
            return future.result(self._config.call_timeout_s)
        except concurrent.futures.TimeoutError as err:
            future.cancel()
            raise StoreUnavailableError(
                f"TiKV unavailable: no answer within {self._config.call_timeout_s} s",
                path=self._url,
                hint="check PD and TiKV",
            ) from err
        except BaseException as err:  # PanicException derives from BaseException
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                raise
            raise classify_error(err, self._url) from err

    def close(self) -> None:
        """Let the client's background work finish, drop the client on the loop thread, stop the loop.

        tikv-client finishes a commit in the background (secondary keys) after ``commit()`` returned; a process
        that exits while such a task runs crashed in the runtime's teardown with SIGSEGV (about one exit in
        fifteen here). Idempotent; also run at interpreter exit for connections nobody closed.
        """
        if self.pid == os.getpid() and self.loop.is_running():
            time.sleep(_CLOSE_GRACE_S)
            self.loop.call_soon_threadsafe(self._drop_client)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(1.0)

    def _drop_client(self) -> None:
        self.__dict__.pop("client", None)


def _close_open_connections() -> None:
    for conn in list(_OPEN_CONNECTIONS):
        conn.close()


#: Seconds ``close()`` waits for the client's background tasks (a commit's secondaries) before teardown.
_CLOSE_GRACE_S = 0.2
_OPEN_CONNECTIONS: weakref.WeakSet[_Connection] = weakref.WeakSet()
atexit.register(_close_open_connections)


class _TikvTransaction:
    def __init__(self, store: TikvStore, conn: _Connection, native: Any, *, readonly: bool) -> None:
        self._store = store
        self._conn = conn
        self._native = native
        self._readonly = readonly
        self._now: int | None = None
        self.written: dict[bytes, bytes | None] = {}  # key → value put (None: deleted)

    def _writable(self) -> None:
        if self._readonly:
            raise StateError("write in a read-only transaction", path=self._store.url)

    def get(self, key: str) -> bytes | None:
        value = self._conn.call(self._native.get, key.encode())
        return None if value is None else bytes(value)

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        pairs = self._conn.call(self._native.batch_get, [k.encode() for k in keys])
        return {bytes(k).decode(): bytes(v) for k, v in pairs}

    def scan(self, prefix: str, limit: int | None = None) -> list[tuple[str, bytes]]:
        start, end = key_range(prefix)
        out: list[tuple[str, bytes]] = []
        while limit is None or len(out) < limit:
            page = _SCAN_PAGE if limit is None else min(_SCAN_PAGE, limit - len(out))
            pairs = self._conn.call(self._native.scan, start, end, page, True, False)
            out.extend((bytes(k).decode(), bytes(v)) for k, v in pairs)
            if len(pairs) < page:
                break
            start = bytes(pairs[-1][0]) + b"\x00"
        return out

    def put(self, key: str, value: bytes) -> None:
        self._writable()
        self._conn.call(self._native.put, key.encode(), value)
        self.written[key.encode()] = bytes(value)

    def delete(self, key: str) -> None:
        self._writable()
        self._conn.call(self._native.delete, key.encode())
        self.written[key.encode()] = None

    def lock(self, key: str) -> None:
        self._writable()
        self._conn.call(self._native.lock_keys, [key.encode()])

    def now_ms(self) -> int:
        if self._now is None:
            self._now = self._store.now_ms()
        return self._now


class TikvStore:
    """State store on a TiKV cluster (``tikv://pd1:2379,pd2:2379``; ``tikv://`` reads ``TIKV_PD_ENDPOINTS``)."""

    def __init__(self, endpoints: Sequence[str], config: TikvConfig = TikvConfig()) -> None:
        if not endpoints:
            raise ConfigError(
                "no PD endpoints for the TiKV state store", hint=f"set {ENV_PD_ENDPOINTS}=pd:2379"
            )
        self.endpoints = list(endpoints)
        self.config = config
        self.url = "tikv://" + ",".join(self.endpoints)
        self.breaker = breaker_for(
            f"state:{self.url}", failure_threshold=config.breaker_failures, timeout=config.breaker_reset_s
        )
        # The client retries region and gRPC errors itself; this retry mainly rides out a reconnection.
        self.retry_policy = RetryPolicy(max_retries=2, base_delay=0.2, max_delay=2.0)
        self._mu = threading.Lock()
        self._conn: _Connection | None = None
        self._closed = False
        self._live: dict[int, float] = {}  # open transactions of this process: id → monotonic start
        self._ids = count()
        self._next_gc_check = time.monotonic() + config.gc_interval_s

    @classmethod
    def from_url(cls, url: str, *, config: TikvConfig = TikvConfig()) -> TikvStore:
        parts = urlsplit(url)
        if parts.scheme != "tikv":
            raise ConfigError(f"not a TiKV state-store URL: {url!r}", hint="use tikv://pd1:2379,pd2:2379")
        endpoints = parse_endpoints(parts.netloc or os.environ.get(ENV_PD_ENDPOINTS, ""))
        return cls(endpoints, config)

    # ---- connection ----
    def _connection(self) -> _Connection:
        with self._mu:
            if self._closed:
                raise StateError("the state store is closed", path=self.url)
            if self._conn is None or self._conn.pid != os.getpid():
                self._conn = None  # a parent's connection is useless after fork; never touch it
                self._conn = _Connection(self.endpoints, self.config, self.url)
            return self._conn

    def _drop(self, conn: _Connection) -> None:
        """Forget a connection after unavailability; close it once calls other threads made on it are over."""
        with self._mu:
            if self._conn is not conn:
                return
            self._conn = None
        closer = threading.Timer(self.config.call_timeout_s + 1.0, conn.close)
        closer.daemon = True
        closer.start()

    def _guarded(self, conn: _Connection, func: Callable[[], T]) -> T:
        try:
            return func()
        except StoreUnavailableError:
            self._drop(conn)
            raise

    # ---- transactions ----
    def run_once(self, fn: TransactionFunction[T], *, readonly: bool = False) -> T:
        conn = self._connection()
        txn_id = next(self._ids)
        self._live[txn_id] = time.monotonic()
        try:
            if readonly:
                return self._guarded(conn, lambda: self._read(conn, fn))
            result = self._guarded(conn, lambda: self._write(conn, fn))
        finally:
            self._live.pop(txn_id, None)
        self._maybe_gc()
        return result

    def _read(self, conn: _Connection, fn: TransactionFunction[T]) -> T:
        ts = conn.call(conn.client.current_timestamp)
        snapshot = conn.client.snapshot(ts, False)  # local: no request until the first read
        return fn(_TikvTransaction(self, conn, snapshot, readonly=True))

    def _write(self, conn: _Connection, fn: TransactionFunction[T]) -> T:
        native = conn.call(conn.client.begin, False)
        committed = False
        try:
            txn = _TikvTransaction(self, conn, native, readonly=False)
            result = fn(txn)
            commit_ts = conn.call(native.commit)
            committed = True
        finally:
            if not committed:
                self._rollback(conn, native)
        if self.config.verify_commits and txn.written:
            self._verify(conn, txn.written, commit_ts)
        return result

    def _verify(self, conn: _Connection, written: dict[bytes, bytes | None], commit_ts: int) -> None:
        """Read the written keys at the commit's own timestamp; a difference means the commit did not happen.

        Not at a fresh timestamp: a transaction committed since may have changed the keys, and reporting that as
        a failed commit made the caller run its (already committed) transaction again.
        """
        snapshot = conn.client.snapshot(commit_ts, False)
        found = {bytes(k): bytes(v) for k, v in conn.call(snapshot.batch_get, list(written))}
        if any(found.get(key) != value for key, value in written.items()):
            raise classify_error(RuntimeError("commit could not be verified: written keys differ"), self.url)

    def _rollback(self, conn: _Connection, native: Any) -> None:
        try:
            conn.call(native.rollback)
        except StateError as err:
            # Leftover locks expire with their TTL and are resolved by readers. If the rollback never
            # started (its call timed out), dropping the object would panic: keep it alive.
            log.warning("rollback failed on %s: %s", self.url, err)
            _UNFINISHED.append(native)

    def now_ms(self) -> int:
        """PD's clock: the physical part of a fresh TSO timestamp."""
        conn = self._connection()
        return int(self._guarded(conn, lambda: conn.call(conn.client.current_timestamp))) >> _PHYSICAL_SHIFT

    # ---- MVCC garbage collection ----
    def gc(self, safe_point_ms: int | None = None) -> bool:
        """Resolve locks and collect versions older than the safe point; True if PD accepted it.

        The default safe point is ``gc_lifetime_s`` behind PD's clock and behind the oldest transaction
        open in this process.
        """
        if safe_point_ms is None:
            oldest = min(self._live.values(), default=time.monotonic())
            behind_ms = max(self.config.gc_lifetime_s, time.monotonic() - oldest + 1.0) * 1000
            safe_point_ms = self.now_ms() - int(behind_ms)
        conn = self._connection()
        return bool(self._guarded(conn, lambda: conn.call(conn.client.gc, safe_point_ms << _PHYSICAL_SHIFT)))

    def _maybe_gc(self) -> None:
        if self.config.gc_interval_s <= 0 or time.monotonic() < self._next_gc_check:
            return
        self._next_gc_check = time.monotonic() + self.config.gc_interval_s
        threading.Thread(target=self._gc_if_due, name="tikv-gc", daemon=True).start()

    def _gc_if_due(self) -> None:
        interval_ms = int(self.config.gc_interval_s * 1000)

        def claim(txn: Transaction) -> bool:
            raw = txn.get(GC_KEY)
            now = txn.now_ms()
            if raw is not None and now - int(json.loads(raw)["last_run_ms"]) < interval_ms:
                return False  # another process collected recently
            txn.put(GC_KEY, json.dumps({"v": 1, "last_run_ms": now}).encode())
            return True

        try:
            if run_transaction(self, claim, conflict_retries=0):
                self.gc()
        except StateError as err:
            log.warning("MVCC garbage collection on %s skipped: %s", self.url, err)

    def close(self) -> None:
        with self._mu:
            conn, self._conn, self._closed = self._conn, None, True
        if conn is not None:
            conn.close()
