"""Run the ``roboflow`` command in this process, as the tests of several packages do."""

from __future__ import annotations

import pytest

from roboflow.cli import main


def run(*args: str) -> int:
    """The exit status of ``roboflow ARGS`` (0 when it returns without exiting)."""
    with pytest.raises(SystemExit) as exit_info:
        main([*args])
        raise SystemExit(0)
    return int(exit_info.value.code or 0)
