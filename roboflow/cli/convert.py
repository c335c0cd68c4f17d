"""``roboflow convert INPUT... -c CONFIG -o OUT [--format v3.0|v2.1] [-j N] [--overwrite] [--strict]``.

INPUT and OUT may be local paths or storage URLs (``s3://``, ``oss://``; see docs/storage.md).

Exit status: 0 every recording was converted; 4 the dataset was written but some recordings were skipped (listed
in the summary and in ``meta/roboflow.json``); 2 nothing was written because of a user error (bad config or
input, every recording failed, or one failed under ``--strict``); 1 the environment stopped the run (disk full,
permission denied, a store unavailable; the staging is kept and the same command resumes); 3 another
infrastructure error; 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from roboflow.cli.conversion import conversion_options, load_inputs
from roboflow.pipeline.local import RunOptions, run_local
from roboflow.pipeline.progress import LogProgress, TerminalProgress, summary_table

__all__ = ["convert"]


@click.command("convert")
@conversion_options("The dataset to write: a directory, or a storage URL (s3://bucket/prefix, oss://bucket/prefix).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Recordings converted in parallel (worker processes).")
@click.option("--overwrite", is_flag=True,
              help="Replace OUT if it is a dataset (a local OUT only once the new one is complete); "
                   "a folder of other files is never replaced.")
@click.option("--strict", is_flag=True, help="Fail the run (write nothing) if any recording fails.")
@click.option("--restart", is_flag=True,
              help="Discard what an interrupted run of OUT staged and convert everything again (default: resume).")
@click.option("--progress/--no-progress", default=None,
              help="Live progress bars (default: on when stderr is a terminal, plain log lines otherwise).")
def convert(inputs: tuple[str, ...], config_path: Path, out: str, fmt: str | None, jobs: int, overwrite: bool,
            strict: bool, restart: bool, progress: bool | None) -> int:
    """Convert recordings into one LeRobot dataset, one episode per recording (or per split).

    INPUT is a recording (.mcap, .bag, .rrd, a rosbag2 directory), a directory searched recursively, or a glob,
    locally or at s3:// and oss:// URLs (credentials and endpoints from the environment); episodes follow the
    sorted paths. Without INPUT, [source] path of the config is used.

    A killed run resumes: the same command again reuses the recordings already converted and continues a
    recording at its first unfinished episode (--restart starts over).

    Exit status: 0 all converted; 4 written, some recordings skipped; 2 nothing written (user error or
    --strict); 1 the environment stopped the run (disk full, permission denied: fix it and run the same
    command again); 3 other infrastructure error.
    """
    config, inputs = load_inputs(config_path, inputs)
    live = sys.stderr.isatty() if progress is None else progress
    events = TerminalProgress(sys.stderr) if live else LogProgress(sys.stderr)
    try:
        report = run_local(inputs, config, out, RunOptions(jobs=jobs, format=fmt, overwrite=overwrite, strict=strict,
                                                               restart=restart),
                           events)
    finally:
        if isinstance(events, TerminalProgress):
            events.close()
    click.echo(summary_table(report, out))
    return report.exit_status
