"""Worker sessions: lease + heartbeat kept by a thread, step-down (both stores)."""

from __future__ import annotations

import time

import pytest

from roboflow.coordination.errors import LeaseHeldError, LeaseLostError
from roboflow.coordination.keys import heartbeat_key, worker_lease_key
from roboflow.coordination.leases import Lease
from roboflow.coordination.records import HeartbeatRecord, LockRecord, WorkerStatus, decode, encode
from roboflow.coordination.store import StateStore, run_transaction
from roboflow.coordination.workers import CoordinationConfig, WorkerSession
from roboflow.errors import StateError

from .harness import Harness

FAST = CoordinationConfig(lease_ttl_s=1.5, heartbeat_timeout_s=1.5)


def heartbeat(store: StateStore, pod: str) -> HeartbeatRecord:
    raw = run_transaction(store, lambda txn: txn.get(heartbeat_key(pod)), readonly=True)
    assert raw is not None
    return decode(HeartbeatRecord, raw)


def test_session_writes_and_renews_its_heartbeat(store: StateStore) -> None:
    with WorkerSession(store, "pod-1", FAST) as session:
        first = heartbeat(store, "pod-1")
        assert (first.status, first.epoch, first.pod_id) == (WorkerStatus.IDLE, 1, "pod-1")
        deadline = time.monotonic() + 10
        while heartbeat(store, "pod-1").last_seen_ms == first.last_seen_ms and time.monotonic() < deadline:
            time.sleep(0.1)  # the renewal thread rewrites it every 0.5 s
        assert heartbeat(store, "pod-1").last_seen_ms > first.last_seen_ms
        session.check()
        session.set_activity("b1", "u1")
        session.beat()
        busy = heartbeat(store, "pod-1")
        assert (busy.status, busy.batch_id, busy.unit_id) == (WorkerStatus.BUSY, "b1", "u1")
    assert heartbeat(store, "pod-1").status is WorkerStatus.STOPPED


def test_a_second_live_incarnation_is_refused(store: StateStore) -> None:
    with WorkerSession(store, "pod-1", FAST), pytest.raises(LeaseHeldError):
        WorkerSession(store, "pod-1", FAST).start()
    with WorkerSession(store, "pod-1", FAST) as again:  # after a clean stop the id is free
        assert again.lease.epoch == 2


def test_session_steps_down_when_fenced(harness: Harness) -> None:
    store = harness.store
    lost: list[LeaseLostError] = []
    session = WorkerSession(store, "pod-1", FAST, on_lost=lost.append).start()
    lease: Lease = session.lease

    def fence(txn: object) -> None:
        txn.put(worker_lease_key("pod-1"), encode(LockRecord("", lease.epoch + 1, 0)))  # type: ignore[attr-defined]

    run_transaction(store, fence)
    deadline = time.monotonic() + 5
    while not session.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.lost and len(lost) == 1
    with pytest.raises(LeaseLostError, match="taken over"):
        session.check()
    session.stop()  # a lost session leaves the store alone
    record = run_transaction(store, lambda txn: txn.get(worker_lease_key("pod-1")), readonly=True)
    assert record is not None and decode(LockRecord, record).epoch == lease.epoch + 1


def test_session_stops_working_at_its_local_deadline(store: StateStore) -> None:
    now = [100.0]
    session = WorkerSession(
        store, "pod-1", CoordinationConfig(lease_ttl_s=30.0), clock=lambda: now[0]
    ).start()
    now[0] += 25.1  # no renewal for ttl - margin (30 - 5 s)
    with pytest.raises(LeaseLostError, match="could not renew"):
        session.check()
    session.stop()


def test_an_unstarted_session_says_so(store: StateStore) -> None:
    with pytest.raises(StateError, match="not started"):
        WorkerSession(store, "pod-1").check()
