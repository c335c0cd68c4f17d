"""Shared pieces of the fleet commands: the state store from the environment, and listings as table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from roboflow.coordination import StateStore, open_store
from roboflow.errors import InfrastructureError
from roboflow.fleet.settings import FleetSettings

__all__ = ["emit_rows", "listing_options", "open_fleet_store", "send"]

F = TypeVar("F", bound=Callable[..., Any])


def open_fleet_store() -> StateStore:
    """The state store the fleet's environment names (``ROBOFLOW_STATE_URL``, ``TIKV_PD_ENDPOINTS``).

    It is closed when the command ends: the TiKV client must finish its background work before the
    interpreter tears down (left to exit, it can abort the process after a successful command).
    """
    store = open_store(FleetSettings.from_env().state_url)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.close)
    return store


def send(what: str, call: Callable[[], None]) -> None:
    """Send a message through the broker; a broker that cannot be reached is an infrastructure error."""
    try:
        call()
    except InfrastructureError:
        raise
    except Exception as err:
        from roboflow.celery import app

        broker = app.connection_for_write().as_uri()  # as_uri() masks the password
        raise InfrastructureError(f"cannot send the {what} message to the broker {broker}: {err}",
                                  hint="start redis-server or set ROBOFLOW_BROKER_URL") from err


def listing_options(command: F) -> F:
    """``--json`` and ``--csv`` for a listing."""
    command = click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")(command)
    command = click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")(command)
    return command


def emit_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, as_json: bool, as_csv: bool) -> None:
    """Print ``rows`` as JSON, CSV or an aligned table of ``columns``."""
    if as_json:
        click.echo(json.dumps(list(rows), indent=2))
        return
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
        return
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    click.echo("  ".join(column.upper().ljust(width) for column, width in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
