"""Leases: acquire, expiry by the store's clock, renewal, fencing, release (both stores)."""

from __future__ import annotations

import pytest

from roboflow.coordination.errors import LeaseHeldError, LeaseLostError
from roboflow.coordination.leases import acquire_lease, check_lease, read_lease, release_lease, renew_lease
from roboflow.coordination.store import run_transaction

from .harness import Harness


def test_acquire_bumps_the_epoch_only_for_a_new_holder(harness: Harness) -> None:
    store = harness.store
    first = acquire_lease(store, "l", "a", 1000)
    assert first.epoch == 1
    assert acquire_lease(store, "l", "a", 1000).epoch == 1  # re-acquiring one's own lease
    with pytest.raises(LeaseHeldError, match="held by a"):
        acquire_lease(store, "l", "b", 1000)
    harness.advance_ms(1001)
    second = acquire_lease(store, "l", "b", 1000)
    assert second.epoch == 2
    with pytest.raises(LeaseLostError, match="now held by b"):
        run_transaction(store, lambda txn: check_lease(txn, first))


def test_expiry_follows_the_store_clock(harness: Harness) -> None:
    lease = acquire_lease(harness.store, "l", "a", 5000)
    run_transaction(harness.store, lambda txn: check_lease(txn, lease))
    harness.advance_ms(5001)
    with pytest.raises(LeaseLostError, match="expired"):
        run_transaction(harness.store, lambda txn: check_lease(txn, lease))


def test_renewal_extends_until_someone_fences(harness: Harness) -> None:
    store = harness.store
    lease = acquire_lease(store, "l", "a", 1000)
    harness.advance_ms(1500)  # expired, but nobody took it: renewal still works
    expires = run_transaction(store, lambda txn: renew_lease(txn, lease))
    assert expires > store.now_ms()
    run_transaction(store, lambda txn: check_lease(txn, lease))
    harness.advance_ms(1500)
    acquire_lease(store, "l", "b", 1000)
    with pytest.raises(LeaseLostError, match="taken over"):
        run_transaction(store, lambda txn: renew_lease(txn, lease))


def test_release_keeps_the_epoch_counting(harness: Harness) -> None:
    store = harness.store
    lease = acquire_lease(store, "l", "a", 60_000)
    assert release_lease(store, lease) is True
    assert release_lease(store, lease) is True  # still ours (expired): harmless
    nxt = acquire_lease(store, "l", "b", 60_000)
    assert nxt.epoch == 2
    assert release_lease(store, lease) is False
    record = run_transaction(store, lambda txn: read_lease(txn, "l"), readonly=True)
    assert record is not None and record.owner == "b"
