"""The four tasks; each is a call into :mod:`roboflow.fleet` plus Celery's retry."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.exceptions import MaxRetriesExceededError
from celery.signals import worker_process_shutdown

from roboflow.celery import app
from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError
from roboflow.errors import InfrastructureError
from roboflow.fleet import merger, scanner, worker
from roboflow.fleet.reconciler import Reconciler
from roboflow.fleet.runtime import runtime
from roboflow.tasks.dispatch import CeleryDispatcher

__all__ = ["convert_unit", "merge_batch", "reconcile", "scan_batch"]

log = logging.getLogger(__name__)

#: Celery retries of a task whose state-store or storage calls failed (the unit's own attempts are counted
#: in the store); after them the task gives up and the reconciler takes over.
MAX_TASK_RETRIES = 8


#: Answers of the state store, not failures: another worker moved the batch or unit on, or this one was fenced.
ANSWERS = (IllegalTransitionError, LeaseLostError)


def _retry(task: Task, err: Exception, countdown: float, summary: dict[str, Any]) -> dict[str, Any]:
    """Retry ``task`` later; once its retries are used up return ``summary`` so a chord still completes."""
    try:
        raise task.retry(exc=err, countdown=countdown, max_retries=MAX_TASK_RETRIES)
    except MaxRetriesExceededError:
        log.warning("%s gave up after %d retries: %s", task.name, MAX_TASK_RETRIES, err)
        return summary


@app.task(name="roboflow.scan_batch", bind=True)
def scan_batch(self: Task, batch_id: str) -> dict[str, Any]:
    """Record the batch's units and send the chord."""
    try:
        count = scanner.scan_batch(runtime().store, batch_id, CeleryDispatcher())
    except ANSWERS as err:
        log.info("scan of batch %s stopped: %s", batch_id, err)
        return {"batch_id": batch_id, "units": 0}
    except InfrastructureError as err:
        return _retry(self, err, worker.retry_delay_s(self.request.retries + 1), {"batch_id": batch_id})
    return {"batch_id": batch_id, "units": count}


@app.task(name="roboflow.convert_unit", bind=True)
def convert_unit(self: Task, batch_id: str, unit_id: str) -> dict[str, Any]:
    """Convert one recording of the batch (a no-op when it is done or held by a live worker)."""
    try:
        outcome = worker.run_unit(runtime(), batch_id, unit_id)
    except InfrastructureError as err:
        return _retry(self, err, worker.retry_delay_s(self.request.retries + 1), {"unit_id": unit_id, "state": "unknown"})
    if outcome.retry_in_s is not None:
        return _retry(self, RuntimeError(outcome.summary.get("error", "")), outcome.retry_in_s, outcome.summary)
    return outcome.summary


@app.task(name="roboflow.merge_batch", bind=True)
def merge_batch(self: Task, batch_id: str) -> dict[str, Any]:
    """Merge the batch's shards into its dataset (idempotent)."""
    try:
        rt = runtime()
        return merger.merge_batch(rt.store, batch_id, lease_ttl_s=rt.settings.merge_lease_ttl_s)
    except ANSWERS as err:
        log.info("merge of batch %s stopped: %s", batch_id, err)
        return {"batch_id": batch_id, "merged": False}
    except InfrastructureError as err:
        return _retry(self, err, worker.retry_delay_s(self.request.retries + 1), {"batch_id": batch_id})


@app.task(name="roboflow.reconcile")
def reconcile() -> dict[str, Any]:
    """One reconciler pass (a no-op unless this process wins the leader lease)."""
    rt = runtime()
    report = Reconciler(rt.store, CeleryDispatcher(), rt.settings).run_once()
    return {"leader": report.leader, "reclaimed": report.reclaimed, "merges": report.merges, "resent": report.resent}


@worker_process_shutdown.connect
def _close_runtime(**_: Any) -> None:
    """A child exiting cleanly releases its lease and marks its heartbeat Stopped."""
    runtime().close()
