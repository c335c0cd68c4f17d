"""The scanner: a Pending batch's inputs → one Pending unit per recording → Running, then the chord.

Units are recorded before any message is sent, in transactions of a few hundred, from a streamed list, so a
scanner that dies anywhere leaves a state the reconciler finishes: a batch still Discovering is scanned
again (recording units is idempotent: a unit's id comes from its recording's URL), a Running batch whose
messages were never sent has Pending units the reconciler sends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

from roboflow.coordination import StateStore
from roboflow.coordination.batches import get_batch, set_phase
from roboflow.coordination.errors import IllegalTransitionError
from roboflow.coordination.records import BatchPhase
from roboflow.coordination.units import UnitSpec, add_units
from roboflow.errors import UserError
from roboflow.fleet.batch import unit_id_for
from roboflow.fleet.dispatch import Dispatcher
from roboflow.pipeline.scan import WorkItem, scan
from roboflow.storage import open_storage, parse_url

__all__ = ["recording_size", "scan_batch"]

log = logging.getLogger(__name__)


def recording_size(url: str) -> int:
    """Bytes of a recording: a file or object, or every file of a bag directory or prefix."""
    location = parse_url(url)
    if location.scheme == "file":
        if os.path.isdir(location.path):
            return sum(
                os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(location.path) for name in names
            )
        return os.path.getsize(location.path)
    bucket = open_storage(f"{location.scheme}://{location.bucket}")
    if bucket.exists(location.path):
        return bucket.size(location.path)
    return sum(info.size for info in bucket.list(f"{location.path}/"))


def _unit_specs(items: Sequence[WorkItem]) -> Iterator[UnitSpec]:
    for item in items:
        yield UnitSpec(unit_id_for(item.url), item.url, recording_size(item.url))


def scan_batch(store: StateStore, batch_id: str, dispatch: Dispatcher) -> int:
    """Expand the batch's inputs into units, move it to Running and send the chord; returns the unit count.

    A batch past Discovering is left alone (a redelivered message): returns 0. A user error (an input that
    does not exist, no recordings) fails the batch with its message.

    Raises:
        InfrastructureError: Storage or the state store failed (the task is retried).
    """
    spec = get_batch(store, batch_id).spec
    try:
        set_phase(store, batch_id, BatchPhase.DISCOVERING, expected=BatchPhase.PENDING)
    except IllegalTransitionError as err:
        if err.current is not BatchPhase.DISCOVERING:
            log.info("batch %s is %s: nothing to scan", batch_id, getattr(err.current, "value", err.current))
            return 0
    try:
        items = scan(spec.sources)
    except UserError as err:
        set_phase(store, batch_id, BatchPhase.FAILED, message=str(err))
        log.warning("batch %s failed at scan: %s", batch_id, err)
        return 0
    add_units(store, batch_id, _unit_specs(items), max_attempts=int(spec.limits.get("max_attempts", 3)))
    set_phase(store, batch_id, BatchPhase.RUNNING, expected=BatchPhase.DISCOVERING)
    dispatch.start(batch_id, [unit_id_for(item.url) for item in items])
    log.info("batch %s: %d recordings, running", batch_id, len(items))
    return len(items)
