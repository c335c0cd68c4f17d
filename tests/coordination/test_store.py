"""The StateStore contract, run against every store (SQLite, and TiKV through the real client + emulator)."""

from __future__ import annotations

import threading

import pytest

from roboflow.coordination.errors import ConflictError
from roboflow.coordination.store import StateStore, Transaction, key_range, run_transaction
from roboflow.errors import StateError


def write(store: StateStore, items: dict[str, bytes | None]) -> None:
    def apply(txn: Transaction) -> None:
        for key, value in items.items():
            if value is None:
                txn.delete(key)
            else:
                txn.put(key, value)

    run_transaction(store, apply)


def read(store: StateStore, key: str) -> bytes | None:
    return run_transaction(store, lambda txn: txn.get(key), readonly=True)


def test_put_get_delete(store: StateStore) -> None:
    write(store, {"a": b"1", "b": b"2"})
    assert read(store, "a") == b"1"
    assert read(store, "missing") is None
    write(store, {"a": None})
    assert read(store, "a") is None
    assert read(store, "b") == b"2"


def test_get_many_returns_existing_keys_only(store: StateStore) -> None:
    write(store, {"x/1": b"1", "x/3": b"3"})
    found = run_transaction(store, lambda txn: txn.get_many(["x/1", "x/2", "x/3"]), readonly=True)
    assert found == {"x/1": b"1", "x/3": b"3"}
    assert run_transaction(store, lambda txn: txn.get_many([]), readonly=True) == {}


def test_scan_by_prefix_in_key_order_with_limit(store: StateStore) -> None:
    write(store, {"p/b": b"2", "p/a": b"1", "p/c/d": b"3", "p": b"root", "q/a": b"other", "p0": b"after"})
    scanned = run_transaction(store, lambda txn: txn.scan("p/"), readonly=True)
    assert scanned == [("p/a", b"1"), ("p/b", b"2"), ("p/c/d", b"3")]
    assert run_transaction(store, lambda txn: txn.scan("p/", limit=2), readonly=True) == scanned[:2]
    assert run_transaction(store, lambda txn: txn.scan("none/"), readonly=True) == []


def test_scan_pages_through_many_keys(store: StateStore) -> None:
    write(store, {f"many/{i:05d}": b"%d" % i for i in range(1100)})
    scanned = run_transaction(store, lambda txn: txn.scan("many/"), readonly=True)
    assert len(scanned) == 1100
    assert scanned[0][0] == "many/00000" and scanned[-1][0] == "many/01099"


def test_unicode_keys_order_bytewise(store: StateStore) -> None:
    write(store, {"u/é": b"2", "u/z": b"1", "u/日": b"3"})
    keys = [k for k, _ in run_transaction(store, lambda txn: txn.scan("u/"), readonly=True)]
    assert keys == ["u/z", "u/é", "u/日"]


def test_transaction_sees_its_own_writes(store: StateStore) -> None:
    def fn(txn: Transaction) -> tuple[bytes | None, list[tuple[str, bytes]]]:
        txn.put("own/a", b"1")
        return txn.get("own/a"), txn.scan("own/")

    assert run_transaction(store, fn) == (b"1", [("own/a", b"1")])


def test_an_error_in_the_function_rolls_everything_back(store: StateStore) -> None:
    def fn(txn: Transaction) -> None:
        txn.put("r/a", b"1")
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        run_transaction(store, fn)
    assert read(store, "r/a") is None


def test_writes_in_a_read_only_transaction_are_refused(store: StateStore) -> None:
    with pytest.raises(StateError, match="read-only"):
        run_transaction(store, lambda txn: txn.put("k", b"v"), readonly=True)


def test_interleaved_transactions_one_loses_with_a_conflict(store: StateStore) -> None:
    """A reads k, B writes k and commits, A writes k: exactly one of A and B raises ConflictError.

    (TiKV: B commits, A's commit conflicts. SQLite: A holds the write lock, B's wait times out.)
    """
    write(store, {"k": b"0"})
    outcome: dict[str, object] = {}

    def b() -> None:
        try:
            store.run_once(lambda txn: txn.put("k", b"B"))
            outcome["b"] = "committed"
        except ConflictError as err:
            outcome["b"] = err

    def a(txn: Transaction) -> None:
        assert txn.get("k") == b"0"
        other = threading.Thread(target=b)
        other.start()
        other.join(10)
        txn.put("k", b"A")

    try:
        store.run_once(a)
        outcome["a"] = "committed"
    except ConflictError as err:
        outcome["a"] = err
    losers = [name for name, result in outcome.items() if isinstance(result, ConflictError)]
    assert len(losers) == 1, outcome
    assert read(store, "k") == (b"B" if losers == ["a"] else b"A")


def test_run_transaction_reruns_on_conflict_so_no_update_is_lost(store: StateStore) -> None:
    def increment(txn: Transaction) -> None:
        value = int(txn.get("counter") or b"0")
        txn.put("counter", b"%d" % (value + 1))

    def worker() -> None:
        for _ in range(15):
            run_transaction(store, increment)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert read(store, "counter") == b"60"


def test_lock_puts_a_read_key_into_the_write_set(store: StateStore) -> None:
    """Two transactions that only read the same key but lock it cannot both commit around a writer."""
    write(store, {"lease": b"1", "a": b"0"})
    outcome: list[str] = []

    def writer() -> None:
        try:
            store.run_once(lambda txn: txn.put("lease", b"2"))
            outcome.append("writer")
        except ConflictError:
            outcome.append("writer lost")

    def guarded(txn: Transaction) -> None:
        assert txn.get("lease") == b"1"
        txn.lock("lease")
        other = threading.Thread(target=writer)
        other.start()
        other.join(10)
        txn.put("a", b"1")

    try:
        store.run_once(guarded)
        outcome.append("guarded")
    except ConflictError:
        outcome.append("guarded lost")
    assert sorted(outcome) in (["guarded", "writer lost"], ["guarded lost", "writer"])
    assert (read(store, "a") == b"1") == ("guarded" in outcome)


def test_clock_is_in_milliseconds_and_moves_forward(store: StateStore) -> None:
    first = store.now_ms()
    second = run_transaction(store, lambda txn: txn.now_ms(), readonly=True)
    assert 1_600_000_000_000 < first <= second < first + 60_000


def test_key_range() -> None:
    assert key_range("a/") == (b"a/", b"a0")
    assert key_range("") == (b"", None)
    assert key_range("\U0010ffff") == ("\U0010ffff".encode(), b"\xf4\x8f\xbf\xc0")
