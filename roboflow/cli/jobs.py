"""``roboflow jobs list|get|retry|cancel|stats``: the work units (one per recording) of the fleet."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from roboflow.cli.fleet_output import emit_rows, listing_options, open_fleet_store, send
from roboflow.coordination import StateStore
from roboflow.coordination.records import WorkUnit

__all__ = ["jobs"]

_STATES = ("pending", "processing", "complete", "failed", "dead", "cancelled")


def _row(unit: WorkUnit) -> dict[str, Any]:
    result = unit.result or {}
    return {
        "job_id": f"{unit.batch_id}/{unit.unit_id}",
        "batch_id": unit.batch_id,
        "unit_id": unit.unit_id,
        "state": unit.state.value.lower(),
        "attempts": unit.attempts,
        "max_attempts": unit.max_attempts,
        "owner": unit.owner,
        "source": unit.source_url,
        "size_bytes": unit.size_bytes,
        "frames": result.get("frames"),
        "error": unit.error,
    }


def _units(store: StateStore, batch_id: str | None) -> list[WorkUnit]:
    from roboflow.coordination.batches import list_batches
    from roboflow.coordination.units import list_units

    ids = [batch_id] if batch_id else list_batches(store)
    return [unit for bid in ids for unit in list_units(store, bid)]


def _split(job_id: str) -> tuple[str, str]:
    batch_id, sep, unit_id = job_id.partition("/")
    if not sep or not unit_id:
        raise click.BadParameter("a job id is BATCH_ID/UNIT_ID (see `roboflow jobs list`)", param_hint="JOB_ID")
    return batch_id, unit_id


@click.group("jobs")
def jobs() -> None:
    """Work units: one per recording of a batch; JOB_ID is BATCH_ID/UNIT_ID."""


@jobs.command("list")
@click.option("--batch", "batch_id", default=None, help="Only this batch's jobs.")
@click.option("--status", type=click.Choice(_STATES), default=None, help="Only jobs in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many rows.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Skip this many first.")
@listing_options
def list_(batch_id: str | None, status: str | None, limit: int, offset: int, as_json: bool, as_csv: bool) -> None:
    """Jobs in batch and id order."""
    rows = [_row(u) for u in _units(open_fleet_store(), batch_id) if status is None or u.state.value.lower() == status]
    emit_rows(rows[offset : offset + limit], ["job_id", "state", "attempts", "frames", "source", "error"],
              as_json=as_json, as_csv=as_csv)


@jobs.command("get")
@click.argument("job_id")
def get(job_id: str) -> None:
    """One job as JSON (state, attempts, owner, result, error, checkpoint)."""
    from roboflow.coordination.records import encode
    from roboflow.coordination.units import get_unit

    unit = get_unit(open_fleet_store(), *_split(job_id))
    record = {k: v for k, v in json.loads(encode(unit)).items() if k not in ("kind", "v")}
    click.echo(json.dumps({"job_id": job_id, **record}, indent=2))


@jobs.command("retry")
@click.argument("job_id", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every Failed or Dead job (of --batch, or of every batch).")
@click.option("--batch", "batch_id", default=None, help="With --all-failed: only this batch.")
def retry(job_id: str | None, all_failed: bool, batch_id: str | None) -> None:
    """Send Failed or Dead jobs back to Pending and to the workers (their batch must still be running)."""
    from roboflow.coordination.records import UnitState
    from roboflow.coordination.units import requeue_unit
    from roboflow.tasks import CeleryDispatcher

    if (job_id is None) == (not all_failed):
        raise click.UsageError("give JOB_ID or --all-failed")
    store = open_fleet_store()
    if job_id is not None:
        targets = [_split(job_id)]
    else:
        targets = [(u.batch_id, u.unit_id) for u in _units(store, batch_id)
                   if u.state in (UnitState.FAILED, UnitState.DEAD)]
    for bid, uid in targets:
        requeue_unit(store, bid, uid)
        send("convert", lambda bid=bid, uid=uid: CeleryDispatcher().convert(bid, [uid]))  # type: ignore[misc]
    click.echo(f"{len(targets)} jobs sent again")


@jobs.command("cancel")
@click.argument("job_id")
def cancel(job_id: str) -> None:
    """Cancel one job: its recording is left out of the dataset (reported as skipped)."""
    from roboflow.coordination.units import cancel_unit

    unit = cancel_unit(open_fleet_store(), *_split(job_id))
    click.echo(f"{job_id}: {unit.state.value.lower()}")


@jobs.command("stats")
@click.option("--batch", "batch_id", default=None, help="Only this batch.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(batch_id: str | None, as_json: bool) -> None:
    """Jobs per state, bytes and frames done."""
    units = _units(open_fleet_store(), batch_id)
    counts = Counter(u.state.value.lower() for u in units)
    document = {
        "jobs": len(units),
        **{state: counts.get(state, 0) for state in _STATES},
        "bytes_total": sum(u.size_bytes for u in units),
        "bytes_done": sum(u.size_bytes for u in units if u.state.value == "Complete"),
        "frames_done": sum(int((u.result or {}).get("frames", 0)) for u in units if u.state.value == "Complete"),
    }
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    for key, value in document.items():
        click.echo(f"{key:<12} {value:,}")
