"""A worker's session with the control plane: its lease, its heartbeat, and the thread keeping both.

One :class:`WorkerSession` per worker process (``pod_id`` unique among live workers, e.g.
``host:pid``). ``start()`` takes the lease ``roboflow/worker/{pod_id}/lock`` (a new epoch each time) and
writes the first heartbeat; a daemon thread then renews the lease and rewrites the heartbeat in one
transaction every ``lease_ttl_s / 3``. The session steps down (``lost``) on any mismatch — the reaper
fenced it, or another incarnation took the pod id — and also when renewals have failed until the local
deadline ``last renewal + ttl − margin`` (a monotonic clock, so a partitioned worker stops working
before its lease can expire in the store). Work done under the session calls :meth:`check` often.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from roboflow.coordination.errors import LeaseLostError
from roboflow.coordination.keys import heartbeat_key, validate_id, worker_lease_key
from roboflow.coordination.leases import Lease, acquire_lease, release_lease, renew_lease
from roboflow.coordination.records import HeartbeatRecord, WorkerStatus, encode
from roboflow.coordination.store import StateStore, Transaction, run_transaction
from roboflow.errors import StateError

__all__ = ["CoordinationConfig", "WorkerSession"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CoordinationConfig:
    """Timing of leases, heartbeats and retries (seconds); small values make tests fast.

    Attributes:
        lease_ttl_s: Lifetime of a worker's lease; renewed every third of it.
        heartbeat_timeout_s: A heartbeat older than this marks the worker stale for the reaper.
        max_attempts: Claims of a unit before a retryable failure makes it Dead.
        margin_s: The session stops working this long before its lease could expire (default ttl/6).
    """

    lease_ttl_s: float = 30.0
    heartbeat_timeout_s: float = 30.0
    max_attempts: int = 3
    margin_s: float | None = None

    @property
    def renew_interval_s(self) -> float:
        return self.lease_ttl_s / 3

    @property
    def safety_margin_s(self) -> float:
        return self.lease_ttl_s / 6 if self.margin_s is None else self.margin_s


class WorkerSession:
    """Lease + heartbeat of one worker; a context manager (``with WorkerSession(store, "pod-1") as s:``).

    Args:
        store: The state store.
        pod_id: This worker's id, unique among live workers.
        config: Lease and heartbeat timing.
        on_lost: Called (from the renewal thread) when the session steps down.
        clock: Local monotonic clock of the step-down deadline.
    """

    def __init__(
        self,
        store: StateStore,
        pod_id: str,
        config: CoordinationConfig = CoordinationConfig(),
        *,
        on_lost: Callable[[LeaseLostError], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.pod_id = validate_id("worker", pod_id)
        self.config = config
        self.owner = f"{pod_id}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._on_lost = on_lost
        self._clock = clock
        self._lease: Lease | None = None
        self._deadline = 0.0
        self._lost: LeaseLostError | None = None
        self._activity: tuple[str, str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mu = threading.Lock()

    # ---- state ----
    @property
    def lease(self) -> Lease:
        if self._lease is None:
            raise StateError(f"worker session {self.pod_id} is not started")
        return self._lease

    @property
    def lost(self) -> bool:
        return self._lost is not None

    def check(self) -> None:
        """Raise :class:`LeaseLostError` if this session must stop working."""
        if self._lost is not None:
            raise self._lost
        if self._lease is None:
            raise StateError(f"worker session {self.pod_id} is not started", hint="call start() first")
        if self._clock() > self._deadline:
            self._step_down(LeaseLostError(f"worker {self.pod_id} could not renew its lease in time"))
            raise self._lost  # type: ignore[misc]

    def set_activity(self, batch_id: str | None, unit_id: str | None = None) -> None:
        """What the next heartbeat reports (called by the unit transitions)."""
        with self._mu:
            self._activity = (batch_id, unit_id) if batch_id and unit_id else None

    # ---- lifecycle ----
    def start(self) -> WorkerSession:
        """Take the worker lease, write the first heartbeat, start renewing.

        Raises:
            LeaseHeldError: A live incarnation with the same ``pod_id`` holds the lease.
        """
        ttl_ms = int(self.config.lease_ttl_s * 1000)
        started = self._clock()
        self._lease = acquire_lease(self.store, worker_lease_key(self.pod_id), self.owner, ttl_ms)
        self._deadline = started + self.config.lease_ttl_s - self.config.safety_margin_s
        self.beat()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{self.pod_id}", daemon=True)
        self._thread.start()
        return self

    def beat(self) -> None:
        """Renew the lease and write the heartbeat now, in one transaction.

        Raises:
            LeaseLostError: The lease was fenced or taken over (the session is now lost).
        """
        lease = self.lease
        with self._mu:
            activity = self._activity
        started = self._clock()

        def renew(txn: Transaction) -> None:
            renew_lease(txn, lease)
            txn.put(heartbeat_key(self.pod_id), encode(self._heartbeat(txn.now_ms(), activity)))

        try:
            run_transaction(self.store, renew)
        except LeaseLostError as err:
            self._step_down(err)
            raise
        self._deadline = started + self.config.lease_ttl_s - self.config.safety_margin_s

    def _heartbeat(
        self, now_ms: int, activity: tuple[str, str] | None, status: WorkerStatus | None = None
    ) -> HeartbeatRecord:
        batch_id, unit_id = activity or (None, None)
        return HeartbeatRecord(
            pod_id=self.pod_id,
            last_seen_ms=now_ms,
            status=status or (WorkerStatus.BUSY if activity else WorkerStatus.IDLE),
            epoch=self.lease.epoch,
            batch_id=batch_id,
            unit_id=unit_id,
            host=socket.gethostname(),
            pid=os.getpid(),
        )

    def _keep(self) -> None:
        while not self._stop.wait(self.config.renew_interval_s):
            try:
                self.beat()
            except LeaseLostError:
                return
            except StateError as err:
                log.warning("worker %s: lease renewal failed: %s", self.pod_id, err)
                if self._clock() > self._deadline:
                    self._step_down(LeaseLostError(f"worker {self.pod_id} could not renew its lease: {err}"))
                    return

    def _step_down(self, err: LeaseLostError) -> None:
        with self._mu:
            if self._lost is not None:
                return
            self._lost = err
        self._stop.set()
        log.warning("worker %s stepped down: %s", self.pod_id, err)
        if self._on_lost is not None:
            self._on_lost(err)

    def stop(self) -> None:
        """Stop renewing; if still the holder, mark the heartbeat Stopped and release the lease (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.config.renew_interval_s + 1)
        if self._lease is None or self._lost is not None:
            return
        lease = self._lease

        def mark_stopped(txn: Transaction) -> None:
            renew_lease(txn, lease)
            txn.put(
                heartbeat_key(self.pod_id), encode(self._heartbeat(txn.now_ms(), None, WorkerStatus.STOPPED))
            )

        try:
            run_transaction(self.store, mark_stopped)
            release_lease(self.store, lease)
        except StateError as err:
            log.warning("worker %s: clean stop failed (the reaper will handle it): %s", self.pod_id, err)
        self._lost = LeaseLostError(f"worker session {self.pod_id} is stopped")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
