"""TiKV-specific behaviour of the store: error classification, commit verification, gc, fork."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time

import pytest
from tikv_emulator import Emulator
from tikv_emulator.mvcc import Op

from roboflow.coordination.errors import ConflictError, StoreUnavailableError
from roboflow.coordination.store import Transaction, run_transaction
from roboflow.coordination.tikv_errors import classify_error
from roboflow.errors import StateError

from .harness import tikv_store

SOURCE = "[/root/.cargo/git/checkouts/client-rust-5a1ccd35a54db20f/b12f95e/src/pd/cluster.rs:189]: "


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (
            "Multiple key errors: [KeyError(KeyError { locked: None, conflict: Some(WriteConflict { start_ts: 1 }) })]",
            ConflictError,
            "transaction conflict",
        ),
        ("Failed to resolve lock", ConflictError, "Failed to resolve lock"),
        (
            'Multiple key errors: [KeyError(KeyError { retryable: "TxnLockNotFound { start_ts: 1 }" })]',
            ConflictError,
            "TxnLockNotFound",
        ),
        (
            SOURCE + "PD cluster failed to respond",
            StoreUnavailableError,
            "TiKV unavailable: PD cluster failed",
        ),
        (
            'gRPC api error: status: Unavailable, message: "x", details: [], metadata: MetadataMap {}',
            StoreUnavailableError,
            'status: Unavailable, message: "x" \\(check PD',
        ),
        (
            "Whether the transaction is committed or not is undetermined",
            StoreUnavailableError,
            "undetermined",
        ),
        ("Region error: Error { server_is_busy: Some(..) }", StoreUnavailableError, "Region error"),
        ("Unsupported column family foo", StateError, "TiKV failed: Unsupported"),
    ],
)
def test_errors_are_classified_by_their_text(text: str, kind: type, message: str) -> None:
    err = classify_error(Exception(text), "tikv://pd:2379")
    assert type(err) is kind
    assert err.path == "tikv://pd:2379"
    with pytest.raises(kind, match=message):
        raise err
    assert ".cargo" not in str(err) and "metadata" not in str(err)


def test_failed_commit_is_rolled_back_and_leaves_no_lock(emulator: Emulator) -> None:
    store = tikv_store(emulator)
    emulator.faults.unavailable(True, methods=["KvCommit"])
    with pytest.raises(StoreUnavailableError, match="injected unavailability"):
        store.run_once(lambda txn: txn.put("k", b"v"))
    emulator.faults.clear()
    assert emulator.calls["KvBatchRollback"] >= 1
    assert emulator.mvcc.scan_lock(1 << 63, b"", b"", 0) == []
    assert run_transaction(store, lambda txn: txn.get("k"), readonly=True) is None
    store.close()


def test_a_commit_the_client_wrongly_reports_is_caught(emulator: Emulator) -> None:
    """client-rust b12f95e swallows a failed region lookup while sharding a prewrite (see tikv.py).

    A gRPC error on KvPrewrite makes the client look the region up again; PD fails those lookups (ten
    tries for the prewrite, ten for the commit of the primary), and ``commit()`` reports success.
    """
    trusting = tikv_store(emulator, verify_commits=False)
    run_transaction(trusting, lambda txn: txn.put("k", b"1"))
    emulator.faults.unavailable(True, methods=["KvPrewrite", "GetRegion"], count=21)
    trusting.run_once(lambda txn: txn.put("k", b"2"))  # reported committed...
    assert emulator.calls["KvCommit"] == 1  # ...but no second commit was ever sent
    assert run_transaction(trusting, lambda txn: txn.get("k"), readonly=True) == b"1"

    verifying = tikv_store(emulator)
    run_transaction(verifying, lambda txn: txn.get("k"), readonly=True)  # connected, region cached
    emulator.faults.unavailable(True, methods=["KvPrewrite", "GetRegion"], count=21)
    with pytest.raises(StoreUnavailableError, match="commit could not be verified"):
        verifying.run_once(lambda txn: txn.put("k", b"3"))
    assert run_transaction(verifying, lambda txn: txn.get("k"), readonly=True) == b"1"
    trusting.close()
    verifying.close()


def test_a_commit_overtaken_before_its_check_is_not_run_again(emulator: Emulator) -> None:
    """Another transaction changing the keys between a commit and its check is not a failed commit.

    The check read at a fresh timestamp, saw the later value, reported "could not be verified" and the caller
    ran its committed transaction again: a counter incremented from 4 threads ended at 61 instead of 60.
    """
    store, other = tikv_store(emulator), tikv_store(emulator)
    run_transaction(store, lambda txn: txn.put("counter", b"0"))
    check = store._verify

    def overtaken(*args: object) -> None:
        run_transaction(other, lambda txn: txn.put("counter", b"100"))  # commits after ours, before our check
        check(*args)  # type: ignore[arg-type]

    store._verify = overtaken  # type: ignore[method-assign]
    runs = []

    def increment(txn: Transaction) -> None:
        runs.append(1)
        txn.put("counter", b"%d" % (int(txn.get("counter") or b"0") + 1))

    run_transaction(store, increment)
    assert len(runs) == 1
    assert run_transaction(other, lambda txn: txn.get("counter"), readonly=True) == b"100"
    store.close()
    other.close()


def test_gc_collects_versions_behind_the_safe_point(emulator: Emulator) -> None:
    store = tikv_store(emulator)
    for i in range(10):
        run_transaction(store, lambda txn, i=i: txn.put("hb", b"%d" % i))
    emulator.mvcc.prewrite([(Op.PUT, b"live", b"x")], b"live", emulator.clock.now(), 60_000)
    assert store.gc() is True  # default safe point: gc_lifetime_s (600 s) behind PD's clock
    assert emulator.mvcc.versions(b"hb") == 10
    assert emulator.mvcc.lock_of(b"live") is not None  # a young transaction is spared
    assert store.gc(safe_point_ms=store.now_ms()) is True
    assert emulator.mvcc.versions(b"hb") == 1
    assert emulator.mvcc.lock_of(b"live") is None  # everything older than the safe point is resolved
    assert run_transaction(store, lambda txn: txn.get("hb"), readonly=True) == b"9"
    assert store.gc() is False  # the safe point never moves back
    store.close()


def test_periodic_gc_runs_once_per_interval_across_stores(emulator: Emulator) -> None:
    # The interval is long against the three writes below (under load they were >50 ms apart, so with a shorter
    # one every store's gc was due again and each won in turn).
    stores = [tikv_store(emulator, gc_interval_s=1.0) for _ in range(3)]
    time.sleep(1.1)
    for store in stores:
        run_transaction(store, lambda txn: txn.put("x", b"1"))
    deadline = time.monotonic() + 10
    while emulator.calls["UpdateGCSafePoint"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert emulator.calls["UpdateGCSafePoint"] == 1  # one winner of the roboflow/meta/gc transaction
    for store in stores:
        store.close()


def test_a_forked_child_gets_a_clear_error_instead_of_a_hang(emulator: Emulator) -> None:
    store = tikv_store(emulator)
    run_transaction(store, lambda txn: txn.put("k", b"v"))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            run_transaction(store, lambda txn: txn.get("k"), readonly=True)
            outcome = "no error"
        except StateError as err:
            outcome = str(err)
        os.write(write_end, pickle.dumps(outcome))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pickle.loads(pipe.read())
    os.waitpid(pid, 0)
    assert "does not survive fork" in outcome and "worker_process_init" in outcome
    store.close()


def test_transaction_functions_run_on_any_thread_and_inside_an_event_loop(emulator: Emulator) -> None:
    import asyncio

    store = tikv_store(emulator)

    async def inside_a_running_loop() -> bytes | None:
        run_transaction(store, lambda txn: txn.put("k", b"v"))
        return run_transaction(store, lambda txn: txn.get("k"), readonly=True)

    assert asyncio.run(inside_a_running_loop()) == b"v"

    def fn(txn: Transaction) -> list[tuple[str, bytes]]:
        return txn.scan("k")

    assert run_transaction(store, fn, readonly=True) == [("k", b"v")]
    store.close()


EXIT_AFTER_WRITES = """
import sys
from roboflow.coordination import open_store, run_transaction
store = open_store(sys.argv[1])
for i in range(20):
    run_transaction(store, lambda txn: txn.put(f"exit/{i}", b"x"))
if sys.argv[2] == "close":
    store.close()
"""


@pytest.mark.parametrize("ending", ["close", "no-close"])
def test_processes_exit_cleanly_right_after_commits(emulator: Emulator, ending: str) -> None:
    """Regression: a process exiting right after a commit, while tikv-client still committed the secondary keys
    in the background, crashed in the runtime's teardown with SIGSEGV about one exit in fifteen (seen as -11
    in the concurrency test). 16 exits make a regression very likely to show."""
    procs = [
        subprocess.Popen([sys.executable, "-c", EXIT_AFTER_WRITES, emulator.url, ending], stderr=subprocess.PIPE)
        for _ in range(16)
    ]
    codes = [(proc.wait(120), proc.stderr.read().decode()[-300:] if proc.stderr else "") for proc in procs]
    assert [code for code, _ in codes] == [0] * len(procs), codes
