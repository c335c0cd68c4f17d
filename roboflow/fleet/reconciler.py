"""The reconciler: repairs, from the state store alone, what messages cannot guarantee.

A pass (one leader at a time, through the lease ``roboflow/meta/reconciler``; every finalizer may try):

1. runs the reaper: units of dead workers go back to Pending and are sent again at once;
2. for each batch not yet final:

   * Pending or Discovering for ``requeue_after_s`` (the scan message or the scanner was lost): scan again;
   * Running, every unit finished for ``merge_grace_s`` (the chord callback was lost): merge;
   * Running, units Pending and unsent for ``requeue_after_s`` while the convert queue is empty (their
     messages were lost, e.g. Redis restarted): send them again;
   * Merging with the merge lease expired (the merging worker died): merge again.

Everything it sends is idempotent, so a pass that races a slow message only costs a duplicate message; a
scan or merge it sent is not sent again for the same batch before ``requeue_after_s`` (resp. ``merge_grace_s``)
have passed. With every message lost, a batch still finishes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field

from roboflow.coordination import Reaper, StateStore, UnitState
from roboflow.coordination.batches import get_batch, list_active_batches
from roboflow.coordination.errors import LeaseHeldError
from roboflow.coordination.keys import RECONCILER_KEY, batch_lease_key
from roboflow.coordination.leases import acquire_lease, read_lease
from roboflow.coordination.records import BatchPhase
from roboflow.coordination.store import run_transaction
from roboflow.coordination.units import list_units, mark_queued
from roboflow.fleet.batch import FINAL_PHASES, TERMINAL_UNITS
from roboflow.fleet.dispatch import Dispatcher
from roboflow.fleet.settings import FleetSettings

__all__ = ["PassReport", "Reconciler"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PassReport:
    """What one pass did."""

    leader: bool = False
    reclaimed: int = 0
    scans: list[str] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    resent: dict[str, int] = field(default_factory=dict)


class Reconciler:
    """Call :meth:`run_once` every ``settings.reconcile_interval_s`` on every finalizer node."""

    def __init__(self, store: StateStore, dispatch: Dispatcher, settings: FleetSettings) -> None:
        self.store = store
        self.dispatch = dispatch
        self.settings = settings
        self.owner = f"reconciler:{socket.gethostname()}:{os.getpid()}"
        self.reaper = Reaper(store, settings.coordination)
        self._sent: dict[tuple[str, str], float] = {}

    def run_once(self) -> PassReport:
        report = PassReport()
        ttl_ms = int(max(3 * self.settings.reconcile_interval_s, 5.0) * 1000)
        try:
            acquire_lease(self.store, RECONCILER_KEY, self.owner, ttl_ms)
        except LeaseHeldError:
            return report
        report.leader = True
        for reclaim in self.reaper.reap_once():
            report.reclaimed += 1
            if reclaim.state is UnitState.PENDING:
                self._resend(reclaim.batch_id, [reclaim.unit_id], report)
        for batch_id in list_active_batches(self.store):
            self._reconcile_batch(batch_id, report)
        return report

    def _reconcile_batch(self, batch_id: str, report: PassReport) -> None:
        status = get_batch(self.store, batch_id)
        phase, now = status.phase, self.store.now_ms()
        requeue_ms = int(self.settings.requeue_after_s * 1000)
        if phase.phase in FINAL_PHASES:
            return
        if phase.phase in (BatchPhase.PENDING, BatchPhase.DISCOVERING):
            if now - phase.changed_at_ms > requeue_ms and self._due("scan", batch_id, self.settings.requeue_after_s):
                log.info("batch %s %s for long: scanning again", batch_id, phase.phase.value)
                self.dispatch.scan(batch_id)
                report.scans.append(batch_id)
            return
        if phase.phase is BatchPhase.MERGING:
            if self._merge_lease_expired(batch_id, now) and self._due("merge", batch_id, self.settings.merge_grace_s):
                log.info("batch %s: merge lease expired, merging again", batch_id)
                self.dispatch.merge(batch_id)
                report.merges.append(batch_id)
            return
        units = list_units(self.store, batch_id)
        if all(u.state in TERMINAL_UNITS for u in units):
            last = max((u.updated_at_ms for u in units), default=phase.changed_at_ms)
            grace = self.settings.merge_grace_s
            if now - last > int(grace * 1000) and self._due("merge", batch_id, grace):
                log.info("batch %s: every unit finished and no merge came: merging", batch_id)
                self.dispatch.merge(batch_id)
                report.merges.append(batch_id)
            return
        stale = [u.unit_id for u in units if u.state is UnitState.PENDING
                 and now - max(u.updated_at_ms, u.queued_at_ms) > requeue_ms]
        if stale and self.dispatch.convert_backlog() == 0:
            log.info("batch %s: %d units lost their messages: sending again", batch_id, len(stale))
            self._resend(batch_id, stale, report)

    def _due(self, what: str, batch_id: str, every_s: float) -> bool:
        """Whether ``what`` may be sent for the batch now (at most once per ``every_s``); if so, note it."""
        now = time.monotonic()
        if now - self._sent.get((what, batch_id), -every_s) < every_s:
            return False
        self._sent[(what, batch_id)] = now
        return True

    def _resend(self, batch_id: str, unit_ids: list[str], report: PassReport) -> None:
        self.dispatch.convert(batch_id, unit_ids)
        mark_queued(self.store, batch_id, unit_ids)
        report.resent[batch_id] = report.resent.get(batch_id, 0) + len(unit_ids)

    def _merge_lease_expired(self, batch_id: str, now: int) -> bool:
        lease = run_transaction(self.store, lambda txn: read_lease(txn, batch_lease_key(batch_id)), readonly=True)
        return lease is None or lease.expires_ms <= now
