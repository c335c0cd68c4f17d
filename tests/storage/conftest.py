"""The storage tests' backend parametrisation. The servers (moto's S3 server, the OSS test server, fault
proxies) are fixtures of :mod:`storage.servers.fixtures`, a plugin shared with the other test packages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roboflow.storage import Storage, open_storage

from .servers.fixtures import FAST, OSS_KEYS, S3_KEYS, MiB, oss_options, s3_options

__all__ = ["FAST", "OSS_KEYS", "S3_KEYS", "MiB", "oss_options", "s3_options"]  # what the storage tests import


@pytest.fixture(params=["local", "s3", "oss"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_storage(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Storage]:
    """Open a storage of the parametrised backend at a fresh root; keyword arguments change options."""

    def make(**changes: Any) -> Storage:
        if backend == "local":
            return open_storage(str(tmp_path / "root"))
        if backend == "s3":
            endpoint = request.getfixturevalue("moto_endpoint")
            bucket = request.getfixturevalue("s3_bucket")
            return open_storage(f"s3://{bucket}/root", s3_options(endpoint, **changes))
        server = request.getfixturevalue("oss_server")
        bucket = request.getfixturevalue("oss_bucket")
        return open_storage(f"oss://{bucket}/root", oss_options(server.endpoint, **changes))

    return make
