"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Loopback object stores (moto S3, the OSS test server, fault proxies) for every test package.
pytest_plugins = ("storage.servers.fixtures",)

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT.parent / "shared" / "data" / "recordings"


@pytest.fixture(scope="session")
def recordings() -> Path:
    """The real public recordings in ``../shared/data/recordings`` (see its README)."""
    if not RECORDINGS.is_dir():
        pytest.fail(f"real recordings not found at {RECORDINGS}; the shared/ folder must sit beside the project")
    return RECORDINGS
