"""The TiKV emulator: Percolator rules on the MVCC core, and the real tikv-client wheel against the servers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tikv_client import TransactionClient
from tikv_emulator import Emulator, Mvcc, TsoClock
from tikv_emulator.mvcc import (
    Aborted,
    Action,
    AlreadyExists,
    KeyLocked,
    Op,
    TxnLockNotFound,
    TxnNotFound,
    WriteConflict,
)

EMULATOR_DIR = Path(__file__).resolve().parents[1] / "tikv_emulator"


@pytest.fixture
def mvcc() -> Mvcc:
    return Mvcc()


@pytest.fixture
def tso() -> TsoClock:
    return TsoClock()


def put(mvcc: Mvcc, tso: TsoClock, key: bytes, value: bytes) -> int:
    """Commit one put; returns its commit ts."""
    start = tso.now()
    assert mvcc.prewrite([(Op.PUT, key, value)], key, start, 3000) == []
    commit = tso.now()
    mvcc.commit([key], start, commit)
    return commit


# ---- Percolator rules on the MVCC core ----
def test_reads_see_the_newest_commit_at_or_before_their_timestamp(mvcc: Mvcc, tso: TsoClock) -> None:
    first = put(mvcc, tso, b"k", b"1")
    second = put(mvcc, tso, b"k", b"2")
    assert mvcc.get(b"k", first - 1) is None
    assert mvcc.get(b"k", first) == b"1"
    assert mvcc.get(b"k", second - 1) == b"1"
    assert mvcc.get(b"k", tso.now()) == b"2"


def test_a_commit_after_start_is_a_write_conflict(mvcc: Mvcc, tso: TsoClock) -> None:
    late_start = tso.now()
    put(mvcc, tso, b"k", b"winner")
    with pytest.raises(WriteConflict) as info:
        mvcc.prewrite([(Op.PUT, b"k", b"loser")], b"k", late_start, 3000)
    assert info.value.write.commit_ts > late_start
    assert mvcc.lock_of(b"k") is None


def test_prewrite_is_all_or_nothing_and_reports_every_locked_key(mvcc: Mvcc, tso: TsoClock) -> None:
    holder = tso.now()
    mvcc.prewrite([(Op.PUT, b"a", b"1"), (Op.PUT, b"c", b"1")], b"a", holder, 3000)
    other = tso.now()
    errors = mvcc.prewrite(
        [(Op.PUT, b"a", b"2"), (Op.PUT, b"b", b"2"), (Op.PUT, b"c", b"2")], b"a", other, 3000
    )
    assert [type(e) for e in errors] == [KeyLocked, KeyLocked]
    assert mvcc.lock_of(b"b") is None  # the free key was not locked either


def test_prewrite_and_commit_are_idempotent(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    assert mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 3000) == []
    assert mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 3000) == []
    commit = tso.now()
    mvcc.commit([b"k"], start, commit)
    mvcc.commit([b"k"], start, commit)
    assert mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 3000) == []  # retried prewrite after commit
    assert mvcc.get(b"k", tso.now()) == b"v"
    assert mvcc.versions(b"k") == 1


def test_locks_block_later_readers_only(mvcc: Mvcc, tso: TsoClock) -> None:
    put(mvcc, tso, b"k", b"old")
    before = tso.now()
    start = tso.now()
    mvcc.prewrite([(Op.PUT, b"k", b"new")], b"k", start, 3000)
    assert mvcc.get(b"k", before) == b"old"
    with pytest.raises(KeyLocked) as info:
        mvcc.get(b"k", tso.now())
    assert info.value.lock.start_ts == start
    [(key, value, error)] = mvcc.scan(b"", b"", 10, tso.now())
    assert (key, value, type(error)) == (b"k", None, KeyLocked)


def test_rollback_record_makes_a_late_prewrite_fail(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    assert mvcc.cleanup(b"k", start, 0) == 0  # no lock yet: a rollback record protects the key
    with pytest.raises(WriteConflict):
        mvcc.prewrite([(Op.PUT, b"k", b"late")], b"k", start, 3000)
    with pytest.raises(TxnLockNotFound):
        mvcc.commit([b"k"], start, tso.now())


def test_committed_transaction_cannot_be_rolled_back(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 3000)
    commit = tso.now()
    mvcc.commit([b"k"], start, commit)
    assert mvcc.cleanup(b"k", start, tso.now()) == commit
    with pytest.raises(Aborted, match="already committed"):
        mvcc.batch_rollback([b"k"], start)


def test_cleanup_respects_a_live_lock_and_rolls_back_an_expired_one(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 100)
    with pytest.raises(KeyLocked):
        mvcc.cleanup(b"k", start, tso.now())
    tso.advance(150)
    assert mvcc.cleanup(b"k", start, tso.now()) == 0
    assert mvcc.lock_of(b"k") is None
    assert mvcc.get(b"k", tso.now()) is None


def test_insert_fails_on_an_existing_key(mvcc: Mvcc, tso: TsoClock) -> None:
    put(mvcc, tso, b"k", b"v")
    with pytest.raises(AlreadyExists):
        mvcc.prewrite([(Op.INSERT, b"k", b"x")], b"k", tso.now(), 3000)
    assert mvcc.prewrite([(Op.CHECK_NOT_EXISTS, b"new", b"")], b"new", tso.now(), 3000) == []
    assert mvcc.lock_of(b"new") is None  # CheckNotExists leaves no lock


def test_check_txn_status_covers_live_expired_committed_and_missing(mvcc: Mvcc, tso: TsoClock) -> None:
    live = tso.now()
    mvcc.prewrite([(Op.PUT, b"p", b"v")], b"p", live, 1000)
    status = mvcc.check_txn_status(b"p", live, tso.now(), rollback_if_not_exist=False)
    assert (status.lock_ttl, status.commit_version, status.action) == (1000, 0, Action.NO_ACTION)
    assert status.lock is not None
    gone = mvcc.check_txn_status(b"p", live, 1 << 63, rollback_if_not_exist=True)  # gc's current_ts: max
    assert (gone.lock_ttl, gone.commit_version, gone.action) == (0, 0, Action.TTL_EXPIRE_ROLLBACK)
    committed = put(mvcc, tso, b"q", b"v")
    start_q = next(w.start_ts for w in mvcc._writes[b"q"])
    assert (
        mvcc.check_txn_status(b"q", start_q, tso.now(), rollback_if_not_exist=True).commit_version
        == committed
    )
    with pytest.raises(TxnNotFound):
        mvcc.check_txn_status(b"r", tso.now(), tso.now(), rollback_if_not_exist=False)
    missing = mvcc.check_txn_status(b"r", tso.now(), tso.now(), rollback_if_not_exist=True)
    assert missing.action is Action.LOCK_NOT_EXIST_ROLLBACK


def test_check_secondary_locks(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    mvcc.prewrite([(Op.PUT, b"p", b"1"), (Op.PUT, b"s", b"1")], b"p", start, 3000)
    locks, commit = mvcc.check_secondary_locks([b"s"], start)
    assert ([k for k, _ in locks], commit) == ([b"s"], 0)
    commit_ts = tso.now()
    mvcc.commit([b"p", b"s"], start, commit_ts)
    assert mvcc.check_secondary_locks([b"s"], start) == ([], commit_ts)


def test_pessimistic_locks_do_not_block_readers_and_conflict_on_newer_writes(
    mvcc: Mvcc, tso: TsoClock
) -> None:
    put(mvcc, tso, b"k", b"v")
    start = tso.now()
    assert mvcc.pessimistic_lock([b"k"], b"k", start, 20000, start) == [b"v"]
    assert mvcc.get(b"k", tso.now()) == b"v"
    with pytest.raises(KeyLocked):
        mvcc.pessimistic_lock([b"k"], b"k", tso.now(), 20000, tso.now())
    mvcc.pessimistic_rollback([b"k"], start, start)
    assert mvcc.lock_of(b"k") is None
    stale = tso.now()
    put(mvcc, tso, b"k", b"newer")
    with pytest.raises(WriteConflict):
        mvcc.pessimistic_lock([b"k"], b"k", stale, 20000, stale)


def test_pessimistic_lock_becomes_a_prewrite_lock(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    mvcc.pessimistic_lock([b"k"], b"k", start, 20000, start)
    assert mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 3000, [True], for_update_ts=start) == []
    mvcc.commit([b"k"], start, tso.now())
    assert mvcc.get(b"k", tso.now()) == b"v"
    with pytest.raises(Aborted, match="PessimisticLockNotFound"):
        mvcc.prewrite([(Op.PUT, b"x", b"v")], b"x", tso.now(), 3000, [True])


def test_heartbeat_only_raises_the_ttl(mvcc: Mvcc, tso: TsoClock) -> None:
    start = tso.now()
    mvcc.prewrite([(Op.PUT, b"k", b"v")], b"k", start, 3000)
    assert mvcc.txn_heartbeat(b"k", start, 20000) == 20000
    assert mvcc.txn_heartbeat(b"k", start, 5000) == 20000
    tso.advance(10_000)
    with pytest.raises(KeyLocked):
        mvcc.cleanup(b"k", start, tso.now())  # still alive thanks to the heart beat
    with pytest.raises(TxnNotFound):
        mvcc.txn_heartbeat(b"k", start + 1, 20000)


def test_gc_keeps_the_newest_visible_version_only(mvcc: Mvcc, tso: TsoClock) -> None:
    for i in range(5):
        put(mvcc, tso, b"k", b"%d" % i)
    start = tso.now()
    mvcc.cleanup(b"gone", start, 0)  # a lone rollback record
    safe = tso.now()
    newer = put(mvcc, tso, b"k", b"5")
    assert mvcc.gc(safe) == 5  # four old puts of k and the rollback record
    assert mvcc.versions(b"k") == 2
    assert mvcc.get(b"k", safe) == b"4" and mvcc.get(b"k", newer) == b"5"
    assert mvcc.versions(b"gone") == 0


def test_tso_is_strictly_increasing_and_can_be_moved_forward(tso: TsoClock) -> None:
    stamps = [tso.allocate(3) for _ in range(100)]
    assert stamps == sorted(set(stamps))
    before = tso.now() >> 18
    tso.advance(60_000)
    assert (tso.now() >> 18) - before >= 60_000


# ---- the real client against the servers ----
@pytest.fixture
def client(emulator: Emulator) -> Iterator[TransactionClient]:
    asyncio.set_event_loop(asyncio.new_event_loop())  # the sync wrappers need a current loop
    yield TransactionClient.connect([emulator.pd_address])
    asyncio.get_event_loop().close()


def test_client_write_conflict(client: TransactionClient) -> None:
    a, b = client.begin(), client.begin()
    assert a.get(b"k") is None and b.get(b"k") is None
    a.put(b"k", b"a")
    b.put(b"k", b"b")
    a.commit()
    with pytest.raises(Exception, match="WriteConflict"):
        b.commit()
    b.rollback()
    reader = client.begin()
    assert reader.get(b"k") == b"a"
    reader.rollback()


def test_client_resolves_an_expired_orphan_lock(emulator: Emulator, client: TransactionClient) -> None:
    orphan = emulator.clock.now()
    emulator.mvcc.prewrite([(Op.PUT, b"k", b"orphan")], b"k", orphan, 100)  # a crashed writer
    emulator.clock.advance(200)
    txn = client.begin()
    assert txn.get(b"k") is None
    txn.rollback()
    assert emulator.calls["KvCleanup"] == 1 and emulator.calls["KvResolveLock"] == 1
    assert emulator.mvcc.lock_of(b"k") is None


def test_client_gives_up_on_a_live_lock(emulator: Emulator, client: TransactionClient) -> None:
    emulator.mvcc.prewrite([(Op.PUT, b"k", b"x")], b"k", emulator.clock.now(), 60_000)
    txn = client.begin()
    started = time.monotonic()
    with pytest.raises(Exception, match="Failed to resolve lock"):
        txn.get(b"k")
    assert time.monotonic() - started < 5
    txn.rollback()


def test_client_pessimistic_transaction(emulator: Emulator, client: TransactionClient) -> None:
    holder = client.begin(pessimistic=True)
    assert holder.get_for_update(b"lease") is None
    assert emulator.mvcc.lock_of(b"lease").op is Op.PESSIMISTIC_LOCK  # type: ignore[union-attr]
    holder.put(b"lease", b"me")
    holder.commit()
    reader = client.begin()
    assert reader.get(b"lease") == b"me"
    reader.rollback()
    assert emulator.calls["KvPessimisticLock"] >= 2


def test_client_gc_resolves_old_locks_and_collects_versions(
    emulator: Emulator, client: TransactionClient
) -> None:
    for value in (b"1", b"2", b"3"):
        txn = client.begin()
        txn.put(b"k", value)
        txn.commit()
    emulator.mvcc.prewrite([(Op.PUT, b"x", b"orphan")], b"x", emulator.clock.now(), 3000)
    safe_point = client.current_timestamp()

    async def gc() -> bool:
        return bool(await client.inner.inner.gc(safe_point))

    assert asyncio.get_event_loop().run_until_complete(gc()) is True
    for method in ("KvScanLock", "KvCheckTxnStatus", "KvResolveLock", "UpdateGCSafePoint"):
        assert emulator.calls[method] >= 1, method
    assert emulator.mvcc.lock_of(b"x") is None
    assert emulator.mvcc.versions(b"k") == 1
    assert emulator.pd.safe_point == safe_point


def test_client_retries_region_errors(emulator: Emulator, client: TransactionClient) -> None:
    emulator.faults.region_errors("not_leader", count=2, methods=["KvGet"])
    txn = client.begin()
    assert txn.get(b"k") is None
    txn.rollback()
    assert emulator.calls["KvGet"] == 3
    emulator.faults.region_errors("server_is_busy", count=50, methods=["KvGet"])
    txn = client.begin()
    with pytest.raises(Exception, match="Region error|ServerIsBusy|server_is_busy"):
        txn.get(b"k")
    txn.rollback()


def test_emulator_runs_as_its_own_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EMULATOR_DIR), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("tikv-emulator ready pd="), line
        pd = line.split("pd=")[1].split()[0]
        asyncio.set_event_loop(asyncio.new_event_loop())
        client = TransactionClient.connect([pd])
        txn = client.begin()
        txn.put(b"k", b"v")
        txn.commit()
        reader = client.begin()
        assert reader.get(b"k") == b"v"
        reader.rollback()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_rarely_used_methods_over_the_wire(emulator: Emulator) -> None:
    """KvTxnHeartBeat, KvCheckSecondaryLocks, KVPessimisticRollback, KvScanLock through gRPC."""
    import grpc
    from tikv_emulator.proto import pb

    def call(method: str, request: object, response_cls: type) -> object:
        stub = channel.unary_unary(
            f"/tikvpb.Tikv/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,  # type: ignore[attr-defined]
        )
        return stub(request, timeout=5)

    start = emulator.clock.now()
    emulator.mvcc.prewrite([(Op.PUT, b"p", b"1"), (Op.PUT, b"s", b"1")], b"p", start, 3000)
    with grpc.insecure_channel(emulator.kv_address) as channel:
        beat = call(
            "KvTxnHeartBeat",
            pb.TxnHeartBeatRequest(primary_lock=b"p", start_version=start, advise_lock_ttl=9000),
            pb.TxnHeartBeatResponse,
        )
        assert beat.lock_ttl == 9000  # type: ignore[attr-defined]
        missing = call(
            "KvTxnHeartBeat",
            pb.TxnHeartBeatRequest(primary_lock=b"x", start_version=start),
            pb.TxnHeartBeatResponse,
        )
        assert missing.error.txn_not_found.start_ts == start  # type: ignore[attr-defined]
        secondary = call(
            "KvCheckSecondaryLocks",
            pb.CheckSecondaryLocksRequest(keys=[b"s"], start_version=start),
            pb.CheckSecondaryLocksResponse,
        )
        assert [lock.key for lock in secondary.locks] == [b"s"]  # type: ignore[attr-defined]
        locks = call("KvScanLock", pb.ScanLockRequest(max_version=start, limit=10), pb.ScanLockResponse)
        assert [(lock.key, lock.lock_ttl) for lock in locks.locks] == [(b"p", 9000), (b"s", 3000)]  # type: ignore[attr-defined]
        pess = emulator.clock.now()
        emulator.mvcc.pessimistic_lock([b"q"], b"q", pess, 20000, pess)
        call(
            "KVPessimisticRollback",
            pb.PessimisticRollbackRequest(start_version=pess, for_update_ts=pess, keys=[b"q"]),
            pb.PessimisticRollbackResponse,
        )
        assert emulator.mvcc.lock_of(b"q") is None
