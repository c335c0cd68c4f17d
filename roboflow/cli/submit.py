"""``roboflow submit INPUT... -c CONFIG -o OUT``: hand a batch to the fleet (see docs/fleet.md)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

import click

from roboflow.cli.conversion import conversion_options, load_inputs
from roboflow.coordination import StateStore
from roboflow.errors import ConfigError

__all__ = ["submit"]

EXIT_FAILED = 1


@click.command("submit")
@conversion_options("The dataset to write, as the workers see it: a directory, s3://bucket/prefix or oss://bucket/prefix.")
@click.option("--batch-id", default=None, help="Name the batch (default: b<date>-<time>-<random>).")
@click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
              help="Tries of a recording whose conversion hits infrastructure errors before it is Dead.")
@click.option("--strict", is_flag=True, help="Fail the batch (publish nothing) if any recording fails.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it is a dataset (never a folder of other files).")
@click.option("--dry-run", is_flag=True, help="Only list the recordings the batch would convert; submit nothing.")
@click.option("--wait", is_flag=True, help="Follow the batch until it ends, with progress; the exit status says how it ended.")
@click.option("--progress/--no-progress", default=None,
              help="With --wait: a live line (default when stderr is a terminal) or a log line per change.")
def submit(inputs: tuple[str, ...], config_path: Path, out: str, fmt: str | None, batch_id: str | None,
           max_attempts: int, strict: bool, overwrite: bool, dry_run: bool, wait: bool,
           progress: bool | None) -> int:
    """Submit recordings to the fleet as one batch; prints the batch id.

    INPUT is a recording, a directory or a glob, locally (as the workers see it) or at s3:// and oss://
    URLs. The config is validated here and stored with the batch (workers never read your file). Workers (`roboflow run`) scan the inputs,
    convert one recording per task and merge the shards into OUT, in sorted source order, exactly as
    `roboflow convert` would.

    Exit status: 0 submitted (with --wait: Complete); 4 with --wait: Complete, some recordings skipped;
    1 with --wait: the batch Failed or was cancelled; 2 a user error; 3 the state store is unreachable.
    """
    from roboflow.fleet.batch import SubmitOptions, submit_batch
    from roboflow.pipeline.merge import check_output
    from roboflow.storage import parse_url

    config, inputs = load_inputs(config_path, inputs)
    for text in (*inputs, out):
        parse_url(text)
    sources = tuple(_absolute(text) for text in inputs)
    output = _absolute(out)
    if dry_run:
        return _dry_run(sources)
    check_output(output, overwrite=overwrite)
    from roboflow.cli.fleet_output import open_fleet_store, send
    from roboflow.fleet.settings import FleetSettings

    store = open_fleet_store()
    options = SubmitOptions(format=fmt, batch_id=batch_id, max_attempts=max_attempts, strict=strict,
                            overwrite=overwrite, staging_url=FleetSettings.from_env().staging_url)
    from roboflow.coordination.errors import IllegalTransitionError

    try:
        spec = submit_batch(store, sources, config, output, options)
    except IllegalTransitionError as err:
        raise ConfigError(f"batch {batch_id!r} exists already with other inputs or settings", path=err.path,
                          hint="choose another --batch-id, or leave it out for a new one") from err
    try:
        from roboflow.tasks import CeleryDispatcher

        send("scan", lambda: CeleryDispatcher().scan(spec.batch_id))
    except Exception as err:  # noqa: BLE001 - the batch is recorded; the reconciler starts it later
        click.echo(f"roboflow: warning: {err}; the batch is recorded and a finalizer will start it", err=True)
    click.echo(spec.batch_id)
    if not wait:
        return 0
    live = sys.stderr.isatty() if progress is None else progress
    return follow(store, spec.batch_id, sys.stderr, live=live)


def _absolute(text: str) -> str:
    """A local path made absolute (workers on this machine may run elsewhere); URLs unchanged."""
    return text if "://" in text else str(Path(text).expanduser().absolute())


def _dry_run(sources: tuple[str, ...]) -> int:
    from roboflow.fleet.batch import unit_id_for
    from roboflow.fleet.scanner import recording_size
    from roboflow.pipeline.scan import scan

    items = scan(sources)
    for item in items:
        click.echo(f"{unit_id_for(item.url)}\t{recording_size(item.url)}\t{item.url}")
    click.echo(f"{len(items)} recordings; nothing submitted (--dry-run)", err=True)
    return 0


def follow(store: StateStore, batch_id: str, stream: IO[str], *, live: bool, interval_s: float = 1.0) -> int:
    """Show the batch's progress until it is final; returns the exit status ``--wait`` promises."""
    from roboflow.errors import StateError
    from roboflow.fleet.batch import batch_summary
    from roboflow.pipeline.local import EXIT_OK, EXIT_PARTIAL

    last = ""
    while True:
        try:
            summary = batch_summary(store, batch_id)
        except StateError as err:  # the store is briefly away: keep waiting, say so once
            line = f"batch {batch_id}: state store unreachable ({err.message}), waiting"
        else:
            line = progress_line(summary)
            if summary["phase"] in ("complete", "failed", "cancelled"):
                break
        if line != last:
            stream.write(("\r\x1b[2K" + line) if live else line + "\n")
            stream.flush()
            last = line
        time.sleep(interval_s)
    stream.write(("\r\x1b[2K" if live else "") + line + "\n")
    for failure in summary["failed"]:
        stream.write(f"skipped: {failure['error'] or failure['source']}\n")
    if summary["phase"] != "complete":
        stream.write(f"roboflow: batch {batch_id} {summary['phase']}: {summary['message']}\n")
        return EXIT_FAILED
    return EXIT_PARTIAL if summary["failed"] or summary["units"]["cancelled"] else EXIT_OK


def progress_line(summary: dict[str, object]) -> str:
    """``batch b1: running  4/6 units  [####----]  1,234 frames  1 failed``."""
    units = summary["units"]
    assert isinstance(units, dict)
    total = int(summary["total"])  # type: ignore[call-overload]
    done = sum(units[s] for s in ("complete", "failed", "dead", "cancelled"))
    width = 20
    filled = width * done // total if total else 0
    bar = "#" * filled + "-" * (width - filled)
    failed = units["failed"] + units["dead"]
    tail = f"  {failed} failed" if failed else ""
    message = f" ({summary['message']})" if summary["message"] else ""
    return (f"batch {summary['batch_id']}: {summary['phase']}{message}  {done}/{total} units  [{bar}]  "
            f"{int(summary['frames']):,} frames{tail}")  # type: ignore[call-overload]
