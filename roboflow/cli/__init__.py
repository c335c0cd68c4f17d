"""The ``roboflow`` command.

Each subcommand lives in its own module of this package and is imported only when it runs, so
``roboflow --help`` stays fast and a subcommand's heavy dependencies load only for that subcommand.
Errors from the :mod:`roboflow.errors` tree become one line ``roboflow: error: ...`` on stderr
(exit status 2 for user errors, 3 for infrastructure errors); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import traceback
from typing import Any

import click

from roboflow import __version__
from roboflow.errors import ResourceError, RoboflowError, UserError

__all__ = ["main"]

#: name -> (module, attribute, one-line help). The help is here so ``--help`` needs no imports.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "synth": ("roboflow.cli.synth", "synth", "Generate a realistic test recording with known ground truth."),
    "inspect": ("roboflow.cli.inspect", "inspect", "Show format, duration and topics of recordings."),
    "init-config": ("roboflow.cli.init_config", "init_config", "Write a starter config for a recording."),
    "convert": ("roboflow.cli.convert", "convert", "Convert recordings into a LeRobot dataset."),
    "merge": ("roboflow.cli.merge", "merge", "Merge LeRobot datasets (shards) into one."),
    "validate": ("roboflow.cli.validate", "validate", "Check a LeRobot dataset against the format spec."),
    "submit": ("roboflow.cli.submit", "submit", "Submit recordings to the Celery fleet as one batch."),
    "batch": ("roboflow.cli.batch", "batch", "List, follow or cancel batches on the fleet."),
    "jobs": ("roboflow.cli.jobs", "jobs", "List, inspect, retry or cancel the fleet's work units."),
    "run": ("roboflow.cli.run", "run", "Start a fleet node: Celery worker and/or reconciler."),
    "health": ("roboflow.cli.health", "health", "Check broker, state store and storage from this node."),
}

EXIT_USER_ERROR = 2
EXIT_INFRA_ERROR = 3
#: The environment stopped a run (disk full, permission denied): fix it and run the same command to resume.
EXIT_RESOURCE_ERROR = 1


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(cmd_name):
            return None
        module_name, attribute, _ = entry
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    return importlib.util.find_spec(COMMANDS[name][0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="roboflow")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug logs).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """Turn robot recordings (ROS1 bags, ROS2 bag directories, MCAP, Rerun RRD) into LeRobot datasets.

    Start with `roboflow synth demo.mcap` and `roboflow inspect demo.mcap`; see README.md.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.WARNING - 10 * min(verbose, 2)
    if verbose:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(_Plain())
        logging.basicConfig(level=level, handlers=[handler])


class _Plain(logging.Formatter):
    """A warning as the command's own one-line messages read (``roboflow: warning: ...``); ``-v`` adds times and
    module names."""

    def format(self, record: logging.LogRecord) -> str:
        return f"roboflow: {record.levelname.lower()}: {record.getMessage()}"


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the console script."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="roboflow", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("roboflow: aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except RoboflowError as err:
        if debug:
            traceback.print_exc()
        click.echo(f"roboflow: error: {err}", err=True)
        if isinstance(err, ResourceError):
            sys.exit(EXIT_RESOURCE_ERROR)
        sys.exit(EXIT_USER_ERROR if isinstance(err, UserError) else EXIT_INFRA_ERROR)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    if isinstance(result, int) and result:
        sys.exit(result)
    return result
