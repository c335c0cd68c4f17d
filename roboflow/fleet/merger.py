"""Merging a batch: the Complete units' shards → the dataset, published once, then staging removed.

The merge runs under the batch's lease (``roboflow/batch/{id}/lock``), kept alive while it works: Running →
Merging → Complete (or Failed by the batch's policy), each a compare-and-set under the lease. Shards (one
per episode) are merged in sorted source order, then episode order, so episode numbering is the one
``roboflow convert`` gives the same inputs.
It is idempotent: a final batch is left alone; a merge killed midway is redone by whoever takes the expired
lease, from the shards; a dataset this batch already published (its ``meta/roboflow.json`` names the batch)
is not published again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roboflow.coordination import StateStore
from roboflow.coordination.batches import get_batch, set_phase
from roboflow.coordination.errors import LeaseHeldError
from roboflow.coordination.keys import batch_lease_key
from roboflow.coordination.leases import KeptLease, Lease, acquire_lease
from roboflow.coordination.records import BatchPhase, BatchSpec, UnitState, WorkUnit
from roboflow.coordination.units import list_units
from roboflow.errors import RoboflowError, UserError
from roboflow.fleet.batch import FINAL_PHASES, TERMINAL_UNITS, dataset_version, staging_root
from roboflow.fleet.worker import batch_config
from roboflow.lerobot.layout import INFO_PATH
from roboflow.lerobot.merge import PROVENANCE_PATH
from roboflow.pipeline.convert import ShardResult
from roboflow.pipeline.merge import MergeContext, incompatible_shards, merge_shards
from roboflow.pipeline.scan import WorkItem
from roboflow.provenance import run_provenance
from roboflow.storage import open_storage, parse_url

__all__ = ["merge_batch", "remove_staging"]

log = logging.getLogger(__name__)


def merge_batch(store: StateStore, batch_id: str, *, lease_ttl_s: float = 60.0) -> dict[str, Any]:
    """Merge the batch if it is ready and nobody else is merging it; returns a small summary.

    The merge lease lasts ``lease_ttl_s`` and is renewed every third of it while the merge runs.

    Raises:
        InfrastructureError: Storage or the state store failed (the batch stays Merging; retried later).
    """
    status = get_batch(store, batch_id)
    phase = status.phase.phase
    if phase in FINAL_PHASES or phase not in (BatchPhase.RUNNING, BatchPhase.MERGING):
        return {"batch_id": batch_id, "phase": phase.value.lower(), "merged": False}
    units = list_units(store, batch_id)
    waiting = sum(1 for u in units if u.state not in TERMINAL_UNITS)
    if waiting:
        log.info("batch %s: %d units not finished, not merging yet", batch_id, waiting)
        return {"batch_id": batch_id, "phase": phase.value.lower(), "merged": False, "waiting": waiting}
    owner = f"merge:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    try:
        lease = acquire_lease(store, batch_lease_key(batch_id), owner, int(lease_ttl_s * 1000))
    except LeaseHeldError:
        return {"batch_id": batch_id, "phase": phase.value.lower(), "merged": False, "elsewhere": True}
    with KeptLease(store, lease):
        final = _merge_under(store, status.spec, units, lease)
    remove_staging(status.spec)
    return {"batch_id": batch_id, "phase": final.value.lower(), "merged": final is BatchPhase.COMPLETE}


def _merge_under(store: StateStore, spec: BatchSpec, units: Sequence[WorkUnit], lease: Lease) -> BatchPhase:
    batch_id = spec.batch_id
    set_phase(store, batch_id, BatchPhase.MERGING, lease=lease)
    complete = sorted((u for u in units if u.state is UnitState.COMPLETE), key=lambda u: u.source_url)
    skipped = [{"source": u.source_url, "error": u.error or u.state.value} for u in units
               if u.state is not UnitState.COMPLETE]
    parts = [(u, str(part)) for u in complete for part in (u.result or {}).get("shards", [])]
    results = [ShardResult(item=WorkItem(i, u.source_url, u.unit_id), shard=part, episodes=())
               for i, (u, part) in enumerate(parts)]
    for result, reason in incompatible_shards(results):
        if result.item.url not in {s["source"] for s in skipped}:
            skipped.append({"source": result.item.url, "error": reason})
    left_out = {s["source"] for s in skipped}
    results = [r for r in results if r.item.url not in left_out]
    converted = len({r.item.url for r in results})
    strict = bool(spec.limits.get("strict"))
    if not results or (strict and skipped):
        why = skipped[0]["error"] if skipped else "no recordings"
        message = (f"--strict: a recording failed: {why}" if results else
                   f"no recording could be converted ({len(skipped)} failed; first: {why})")
        set_phase(store, batch_id, BatchPhase.FAILED, lease=lease, message=message)
        log.warning("batch %s failed: %s", batch_id, message)
        return BatchPhase.FAILED
    fmt = dataset_version(spec)
    try:
        ours, published = _published_state(spec)
        if not published:
            provenance = {**run_provenance(batch_config(spec), format=fmt, converted=converted, skipped=skipped),
                          "batch_id": batch_id}
            overwrite = bool(spec.limits.get("overwrite")) or ours  # replace our own cut-off upload
            merge_shards(results, spec.output_url, MergeContext(fmt, overwrite, provenance))
    except UserError as err:
        set_phase(store, batch_id, BatchPhase.FAILED, lease=lease, message=str(err))
        log.warning("batch %s failed at merge: %s", batch_id, err)
        return BatchPhase.FAILED
    message = f"{converted} recordings converted" + (f", {len(skipped)} skipped" if skipped else "")
    set_phase(store, batch_id, BatchPhase.COMPLETE, lease=lease, message=message)
    log.info("batch %s complete: %s", batch_id, message)
    return BatchPhase.COMPLETE


def _published_state(spec: BatchSpec) -> tuple[bool, bool]:
    """``(ours, complete)``: whether the output's provenance names this batch (a merge of it was killed after
    publishing began), and whether that dataset is complete (``meta/info.json``, written last, is there)."""
    storage = open_storage(spec.output_url)
    try:
        with storage.reader(PROVENANCE_PATH) as stream:
            provenance = json.load(stream)
    except (RoboflowError, OSError, ValueError):
        return False, False
    ours = isinstance(provenance, dict) and provenance.get("batch_id") == spec.batch_id
    return ours, ours and storage.exists(INFO_PATH)


def remove_staging(spec: BatchSpec) -> None:
    """Delete the batch's shards, and the scratch of local merges killed midway (best effort: leftovers are
    only wasted space)."""
    root = staging_root(spec)
    location = parse_url(root)
    output = parse_url(spec.output_url)
    if output.scheme == "file":
        for scratch in Path(output.path).parent.glob(f".{output.name}.partial-*"):
            shutil.rmtree(scratch, ignore_errors=True)
    try:
        if location.scheme == "file":
            shutil.rmtree(location.path, ignore_errors=True)
            parent = os.path.dirname(location.path)
            if os.path.isdir(parent) and not os.listdir(parent):
                os.rmdir(parent)
            return
        storage = open_storage(root)
        for info in list(storage.list()):
            storage.delete(info.key)
    except (RoboflowError, OSError) as err:
        log.warning("could not remove the staging of batch %s at %s: %s", spec.batch_id, root, err)
