"""The command dispatcher: help, version, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from roboflow import __version__
from roboflow.cli import COMMANDS, main
from roboflow.errors import SourceError, StateError


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "roboflow", *args], check=False, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_available_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "LeRobot" in result.stdout
    for name in COMMANDS:
        module = COMMANDS[name][0]
        import importlib.util

        if importlib.util.find_spec(module) is not None:
            assert name in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr
    assert "Traceback" not in result.stderr


def _raising_command(error: Exception) -> click.Command:
    @click.command()
    def boom() -> None:
        raise error

    return boom


@pytest.mark.parametrize(
    ("error", "status"),
    [(SourceError("bad magic", path="x.mcap", hint="is it an MCAP file?"), 2), (StateError("TiKV down"), 3)],
)
def test_roboflow_errors_become_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception, status: int
) -> None:
    from roboflow import cli as cli_module

    monkeypatch.setattr(cli_module.LazyGroup, "get_command", lambda self, ctx, name: _raising_command(error))
    with pytest.raises(SystemExit) as exc:
        main(["boom"])
    assert exc.value.code == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("roboflow: error: ")
    assert str(error) in err
