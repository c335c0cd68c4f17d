"""Faults injected between client and store (S3 and OSS): retried and recovered byte-identically,
or failed fast and clearly with nothing half-written left behind."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from roboflow.errors import CircuitOpenError, StorageError, TransientStorageError
from roboflow.resilience import breaker_states
from roboflow.storage import Storage, StorageOptions, open_storage

from .conftest import MiB, oss_options, s3_options
from .servers.fault_proxy import Fault, FaultProxy
from .servers.oss_server import OssServer


@dataclass
class Remote:
    """A bucket reached through a fault proxy, plus ways to look at it directly."""

    scheme: str
    bucket: str
    proxy: FaultProxy
    options: Callable[..., StorageOptions]  # options through the proxy
    direct: Storage  # the same root, not through the proxy
    leftover_uploads: Callable[[], int]
    two_parts: int  # the size of a small two-part object with the backend's options

    def storage(self, **changes: Any) -> Storage:
        return open_storage(f"{self.scheme}://{self.bucket}/root", self.options(**changes))

    @property
    def breaker(self) -> str:
        return f"{self.scheme}:{self.proxy.endpoint}"


@pytest.fixture(params=["s3", "oss"])
def remote(request: pytest.FixtureRequest, proxy_for: Callable[[str], FaultProxy]) -> Remote:
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        client = request.getfixturevalue("s3_client")
        proxy = proxy_for(endpoint)
        return Remote(
            "s3", bucket, proxy,
            lambda **changes: s3_options(proxy.endpoint, **changes),
            open_storage(f"s3://{bucket}/root", s3_options(endpoint)),
            lambda: len(client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])),
            5 * MiB + 64 * 1024,  # S3's smallest part is 5 MiB
        )  # fmt: skip
    server: OssServer = request.getfixturevalue("oss_server")
    bucket = request.getfixturevalue("oss_bucket")
    proxy = proxy_for(server.endpoint)
    return Remote(
        "oss", bucket, proxy,
        lambda **changes: oss_options(proxy.endpoint, **{"part_size": 128 * 1024, **changes}),
        open_storage(f"oss://{bucket}/root", oss_options(server.endpoint)),
        lambda: sum(upload.bucket == bucket for upload in server.uploads.values()),
        192 * 1024,  # OSS's smallest part is 100 KiB
    )  # fmt: skip


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


READ_FAULTS = [
    Fault("status", status=500, code="InternalError"),
    Fault("status", status=503, code="SlowDown"),
    Fault("status", status=503, code="ServerBusy"),
    Fault("reset"),
    Fault("cut_body"),
    Fault("delay", delay=1.0),
]


@pytest.mark.parametrize(
    "fault", READ_FAULTS, ids=lambda f: f"{f.kind}-{f.code}" if f.kind == "status" else f.kind
)
def test_ranged_read_recovers(remote: Remote, fault: Fault) -> None:
    data = os.urandom(2 * MiB + 777)
    with remote.direct.writer("rec.mcap") as out:
        out.write(data)
    expected = digest(data)
    fault.match, fault.times, fault.skip = "GET ", 2, 1  # the second and third range GETs fail once each
    remote.proxy.add(fault)
    storage = remote.storage(range_size=MiB, read_timeout=0.3)
    with storage.seekable_reader("rec.mcap") as stream:
        assert digest(stream.read()) == expected
    assert remote.proxy.pending() == 0


WRITE_FAULTS = [
    ("single PUT", 0, "PUT /{bucket}/root/obj", Fault("status", status=503, code="SlowDown")),
    ("single PUT", 0, "PUT /{bucket}/root/obj", Fault("reset")),
    ("single PUT", 0, "PUT /{bucket}/root/obj", Fault("lost_response")),
    ("initiate", 2, "POST /{bucket}/root/obj?uploads", Fault("status", status=500, code="InternalError")),
    ("part 2", 2, "partNumber=2", Fault("reset")),
    ("part 2", 2, "partNumber=2", Fault("status", status=503, code="SlowDown")),
    ("part 2", 2, "partNumber=2", Fault("lost_response")),
    (
        "complete",
        2,
        "POST /{bucket}/root/obj?uploadId",
        Fault("status", status=503, code="ServiceUnavailable"),
    ),
    ("complete", 2, "POST /{bucket}/root/obj?uploadId", Fault("lost_response")),  # retry finds it done
]


@pytest.mark.parametrize(
    ("phase", "parts", "match", "fault"), WRITE_FAULTS, ids=[f"{w[0]}-{w[3].kind}" for w in WRITE_FAULTS]
)
def test_write_recovers(remote: Remote, phase: str, parts: int, match: str, fault: Fault) -> None:
    data = os.urandom(remote.two_parts if parts == 2 else 64 * 1024)
    fault.match = match.format(bucket=remote.bucket)
    remote.proxy.add(fault)
    with remote.storage().writer("obj") as out:
        out.write(data)
    assert remote.proxy.pending() == 0, f"the {phase} fault was not hit"
    with remote.direct.reader("obj") as stream:
        assert digest(stream.read()) == digest(data)
    assert remote.leftover_uploads() == 0


def test_listing_resumes_the_failed_page(remote: Remote) -> None:
    keys = [f"k{i}" for i in range(7)]
    for key in keys:
        with remote.direct.writer(key) as out:
            out.write(key.encode())
    remote.proxy.add(
        Fault("reset", match="GET /", skip=1), Fault("status", match="GET /", skip=1, code="SlowDown")
    )
    assert [info.key for info in remote.storage(page_size=3).list()] == keys
    assert remote.proxy.pending() == 0


def test_failed_write_leaves_nothing_behind(remote: Remote) -> None:
    remote.proxy.add(Fault("status", match="partNumber=2", status=503, code="SlowDown", times=4))
    storage = remote.storage(retries=3)
    failure = pytest.raises(TransientStorageError, match=r"upload part 2.*after 4 attempts")
    with failure, storage.writer("obj") as out:
        out.write(os.urandom(remote.two_parts))
    assert not remote.direct.exists("obj")
    assert remote.leftover_uploads() == 0


def test_permanent_failure_is_not_retried(remote: Remote) -> None:
    remote.proxy.add(Fault("status", status=403, code="AccessDenied"))
    with pytest.raises(StorageError, match="access denied") as error:
        remote.storage().exists("x")
    assert not isinstance(error.value, TransientStorageError)
    assert len(remote.proxy.requests) == 1


def test_store_that_stays_down_opens_the_breaker_then_recovers(remote: Remote) -> None:
    with remote.direct.writer("a") as out:
        out.write(b"alive")
    storage = remote.storage(retries=3, breaker_failures=5, breaker_timeout=0.5)
    remote.proxy.down = True
    start = time.monotonic()
    with pytest.raises(TransientStorageError, match="after 4 attempts"):
        storage.size("a")
    with pytest.raises(CircuitOpenError, match=f"circuit breaker for {remote.breaker} is open"):
        storage.size("a")  # the fifth consecutive failure opens it
    seen = len(remote.proxy.requests)
    with pytest.raises(CircuitOpenError, match=r"/root/a: HEAD: circuit breaker"):
        storage.size("a")
    assert len(remote.proxy.requests) == seen  # failed fast, the store was not called
    assert time.monotonic() - start < 3
    assert {"name": remote.breaker, "state": "open", "failures": 5} in breaker_states()

    remote.proxy.down = False
    time.sleep(0.6)  # the breaker lets a probe through after its timeout
    assert storage.size("a") == 5
    assert {"name": remote.breaker, "state": "closed", "failures": 0} in breaker_states()


def test_unreachable_endpoint_fails_clearly_and_fast(remote: Remote) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    options = replace(remote.options(), endpoint=endpoint, breaker_failures=4)
    storage = open_storage(f"{remote.scheme}://{remote.bucket}/root", options)
    start = time.monotonic()
    message = rf"ConnectionError after 4 attempts \(the store at {endpoint} is unreachable"
    with pytest.raises(TransientStorageError, match=message):
        storage.exists("a")
    with pytest.raises(CircuitOpenError):
        storage.exists("a")
    assert time.monotonic() - start < 3


def test_oss_crc_mismatch_is_retried(oss_server: OssServer, oss_bucket: str) -> None:
    """A body corrupted in flight fails oss2's CRC-64 check and is sent again."""
    storage = open_storage(f"oss://{oss_bucket}", oss_options(oss_server.endpoint))
    data = os.urandom(1000)
    puts = oss_server.stats["PUT object"]
    oss_server.corrupt_next = 1
    with storage.writer("crc.bin") as out:
        out.write(data)
    assert oss_server.buckets[oss_bucket]["crc.bin"].data == data
    assert oss_server.stats["PUT object"] - puts == 2
