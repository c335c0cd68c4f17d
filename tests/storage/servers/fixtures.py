"""Real object stores on loopback as pytest fixtures: moto's S3 server, the OSS test server, fault proxies.

A pytest plugin (registered in ``tests/conftest.py``), so every test package can use the same servers; the
session-scoped servers start once per run. Tests outside this package import the helpers with
``from storage.servers.fixtures import s3_options, ...``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from roboflow.storage import Credentials, StorageOptions

from .fault_proxy import FaultProxy
from .oss_server import OssServer

MiB = 1024 * 1024
S3_KEYS = Credentials("AKIAROBOFLOWTEST0001", "s3-secret-Do-Not-Leak-7f3a9c")
OSS_KEYS = Credentials("LTAIroboflowtest0001", "oss-secret-Do-Not-Leak-b81e44")

#: Short delays and timeouts so faults are retried in milliseconds.
FAST = StorageOptions(
    range_size=1 * MiB,
    part_size=5 * MiB,
    retries=3,
    retry_base_delay=0.01,
    retry_max_delay=0.05,
    connect_timeout=1.0,
    read_timeout=2.0,
    breaker_failures=5,
    breaker_timeout=0.5,
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def oss_server() -> Iterator[OssServer]:
    server = OssServer(OSS_KEYS.access_key_id).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS.access_key_id,
        aws_secret_access_key=S3_KEYS.secret_access_key,
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def oss_bucket(oss_server: OssServer) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    oss_server.create_bucket(name)
    return name


def s3_options(endpoint: str, **changes: Any) -> StorageOptions:
    return replace(FAST, **{"endpoint": endpoint, "region": "us-east-1", "credentials": S3_KEYS, **changes})


def oss_options(endpoint: str, **changes: Any) -> StorageOptions:
    return replace(FAST, **{"endpoint": endpoint, "credentials": OSS_KEYS, **changes})


@pytest.fixture
def proxy_for() -> Iterator[Callable[[str], FaultProxy]]:
    """Start fault proxies in front of endpoints; each test gets its own (and so its own breaker)."""
    proxies: list[FaultProxy] = []

    def start(upstream: str) -> FaultProxy:
        proxy = FaultProxy(upstream).start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()
