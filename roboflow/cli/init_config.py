"""``roboflow init-config RECORDING [-o FILE] [--fps N] [--force]``: write a commented starter config."""

from __future__ import annotations

from pathlib import Path

import click

from roboflow.config.starter import starter_config
from roboflow.config.survey import survey
from roboflow.errors import ConfigError
from roboflow.sources import open_source, summarize

__all__ = ["init_config"]


@click.command("init-config")
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the config to this file (default: print it).")
@click.option("--fps", type=click.IntRange(1, 1000), default=None,
              help="Dataset fps (default: the cameras' rate, else the state topic's, else 30).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def init_config(recording: Path, output: Path | None, fps: int | None, force: bool) -> None:
    """Write a starter config for RECORDING: cameras as images, the likeliest state and command topics as state
    and action, every other numeric topic as a commented-out mapping with its fields.

    Review it (task, fps, joint selection), then run `roboflow convert RECORDING -c FILE -o OUT`.
    """
    with open_source(recording) as source:
        info = summarize(source)
        text = starter_config(info, fps=fps, fields=survey(source, info))
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise ConfigError("exists already, not overwriting", path=str(output), hint="pass --force to replace it")
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
