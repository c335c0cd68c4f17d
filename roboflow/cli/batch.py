"""``roboflow batch list|status|cancel``: batches on the fleet, read from the state store."""

from __future__ import annotations

import json
import sys
import time

import click

from roboflow.cli.fleet_output import emit_rows, listing_options, open_fleet_store

__all__ = ["batch"]

_PHASES = ("pending", "discovering", "running", "merging", "complete", "failed", "cancelled")


@click.group("batch")
def batch() -> None:
    """List batches, follow one, or cancel one."""


@batch.command("list")
@click.option("--phase", type=click.Choice(_PHASES), default=None, help="Only batches in this phase.")
@listing_options
def list_(phase: str | None, as_json: bool, as_csv: bool) -> None:
    """Every batch with its phase, unit counts and output, oldest first."""
    from roboflow.coordination.batches import list_batches
    from roboflow.fleet.batch import batch_summary

    store = open_fleet_store()
    rows = []
    for batch_id in list_batches(store):
        summary = batch_summary(store, batch_id)
        if phase is None or summary["phase"] == phase:
            units = summary["units"]
            rows.append({**summary, **{f"units_{k}": v for k, v in units.items()}, "done": units["complete"]})
    if as_json or as_csv:
        for row in rows:
            row.pop("failed", None)
    emit_rows(rows, ["batch_id", "phase", "total", "units_complete", "units_failed", "units_dead", "frames", "output"],
              as_json=as_json, as_csv=as_csv)


@batch.command("status")
@click.argument("batch_id")
@click.option("--watch", is_flag=True, help="Follow the batch until it ends (exit status as `submit --wait`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(batch_id: str, watch: bool, as_json: bool) -> int:
    """Phase, units per state, frames and failures of one batch."""
    from roboflow.fleet.batch import batch_summary

    store = open_fleet_store()
    if watch:
        from roboflow.cli.submit import follow

        return follow(store, batch_id, sys.stderr, live=sys.stderr.isatty())
    summary = batch_summary(store, batch_id)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return 0
    click.echo(f"batch      {summary['batch_id']}")
    click.echo(f"phase      {summary['phase']}" + (f" ({summary['message']})" if summary["message"] else ""))
    click.echo(f"output     {summary['output']} ({summary['format']})")
    submitted = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(summary["submitted_at_ms"]) / 1000))
    click.echo(f"submitted  {submitted} by {summary['submitted_by']}")
    counts = ", ".join(f"{n} {state}" for state, n in summary["units"].items() if n)
    click.echo(f"units      {summary['total']}: {counts or 'none yet'}")
    click.echo(f"frames     {summary['frames']:,}")
    for failure in summary["failed"]:
        click.echo(f"failed     {failure['unit_id']}: {failure['error']}")
    return 0


@batch.command("cancel")
@click.argument("batch_id")
def cancel(batch_id: str) -> None:
    """Cancel a batch: nothing more is converted or merged; units in flight stop at their next check."""
    from roboflow.coordination.batches import set_phase
    from roboflow.coordination.records import BatchPhase, UnitState
    from roboflow.coordination.units import cancel_unit, list_units

    store = open_fleet_store()
    set_phase(store, batch_id, BatchPhase.CANCELLED)
    cancelled = 0
    for unit in list_units(store, batch_id):
        if unit.state in (UnitState.PENDING, UnitState.PROCESSING):
            cancel_unit(store, batch_id, unit.unit_id)
            cancelled += 1
    click.echo(f"batch {batch_id} cancelled ({cancelled} units stopped)")
