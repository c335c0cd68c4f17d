"""What ``convert`` and ``submit`` share: the config and output options, and INPUT falling back to ``[source] path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from roboflow.config import FORMATS, Config, load_config, video_settings
from roboflow.errors import ConfigError
from roboflow.media.hardware import resolve_encoder

__all__ = ["config_warnings", "conversion_options", "load_inputs"]

#: Values ``roboflow init-config`` writes for the user to replace.
PLACEHOLDERS = {"task": "describe the task", "robot_type": "unknown"}

F = TypeVar("F", bound=Callable[..., Any])


def conversion_options(output_help: str) -> Callable[[F], F]:
    """INPUT..., ``-c/--config``, ``-o/--output`` (with ``output_help``) and ``--format``."""

    def decorate(command: F) -> F:
        command = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                               help="Dataset version (default: [dataset] format of the config, else v3.0).")(command)
        command = click.option("-o", "--output", "out", required=True, help=output_help)(command)
        command = click.option("-c", "--config", "config_path", required=True, type=click.Path(path_type=Path),
                               help="The conversion config (TOML); see docs/convert.md.")(command)
        return click.argument("inputs", nargs=-1, metavar="INPUT...")(command)

    return decorate


def load_inputs(config_path: Path, inputs: tuple[str, ...]) -> tuple[Config, tuple[str, ...]]:
    """The validated config, and INPUT (or the config's ``[source] path`` when none is given).

    Prints :func:`config_warnings` to stderr, one line each.

    Raises:
        ConfigError: The config is invalid, or there is no INPUT and no ``[source] path``.
    """
    config = load_config(config_path)
    for warning in config_warnings(config):
        click.echo(f"roboflow: warning: {config_path}: {warning}", err=True)
    encoder = resolve_encoder(video_settings(config.video))
    if encoder.note:
        click.echo(f"roboflow: {encoder.note}", err=True)
    if inputs:
        return config, inputs
    if config.source.path is None:
        raise ConfigError("no INPUT given and the config has no [source] path", path=str(config_path),
                          hint="name recordings on the command line")
    return config, (config.source.path,)


def config_warnings(config: Config) -> list[str]:
    """What a valid config probably gets wrong: no ``action`` feature, starter placeholders left in."""
    warnings = []
    if not any(mapping.feature == "action" for mapping in config.mappings):
        warnings.append('no mapping writes the feature "action", which most lerobot policies train on '
                        '(map the command topic with feature = "action")')
    dataset = config.dataset
    for key, placeholder in PLACEHOLDERS.items():
        if getattr(dataset, key, None) == placeholder:
            warnings.append(f'[dataset] {key} is "{placeholder}" (the starter config\'s placeholder): say what it is')
    return warnings
