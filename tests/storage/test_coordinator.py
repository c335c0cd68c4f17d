"""The upload coordinator: concurrency, back-pressure, retries, delete-after-upload, progress."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roboflow.errors import StorageError
from roboflow.storage import UploadConfig, UploadCoordinator, UploadProgress, open_storage

from .conftest import MiB, s3_options
from .servers.fault_proxy import Fault, FaultProxy, request_kind

ProxyFor = Callable[[str], FaultProxy]
FAST_RETRY = {"retry_base_delay": 0.01, "retry_max_delay": 0.02}


def make_files(directory: Path, count: int, size: int = 1000) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"episode_{index:03d}.parquet"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def test_uploads_everything_and_reports_progress(
    tmp_path: Path, s3_bucket: str, moto_endpoint: str, s3_client: Any
) -> None:
    storage = open_storage(f"s3://{s3_bucket}/ds", s3_options(moto_endpoint))
    paths = make_files(tmp_path / "out", 12, size=3000)
    reports: list[UploadProgress] = []
    lock = threading.Lock()

    def progress(report: UploadProgress) -> None:
        with lock:
            reports.append(report)

    with UploadCoordinator(storage, UploadConfig(concurrency=3), progress) as coordinator:
        futures = [coordinator.submit(path, f"data/{path.name}") for path in paths]
    assert all(future.result().attempts == 1 for future in futures)
    assert sorted(r.files_done for r in reports) == list(range(1, 13))
    assert max(r.bytes_done for r in reports) == 12 * 3000
    assert not any(r.files_failed for r in reports)
    for path in paths:
        body = s3_client.get_object(Bucket=s3_bucket, Key=f"ds/data/{path.name}")["Body"].read()
        assert body == path.read_bytes()


def test_submit_blocks_when_the_queue_is_full(
    tmp_path: Path, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    proxy = proxy_for(moto_endpoint)
    proxy.add(Fault("delay", match="PUT", delay=0.3, times=100))  # a slow store
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint))
    paths = make_files(tmp_path, 4)
    waits = []
    with UploadCoordinator(storage, UploadConfig(concurrency=1, max_pending=2)) as coordinator:
        for path in paths:
            start = time.monotonic()
            coordinator.submit(path, path.name)
            waits.append(time.monotonic() - start)
    assert waits[0] < 0.1 and waits[1] < 0.1  # room in the queue
    assert waits[2] > 0.2 and waits[3] > 0.2  # each waited for an upload to finish
    assert len(proxy.requests) == 4


def test_whole_file_is_retried_and_local_file_deleted(
    tmp_path: Path, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor, s3_client: Any
) -> None:
    proxy = proxy_for(moto_endpoint)
    proxy.add(Fault("reset", match="partNumber=2", times=2))
    # no per-request retries: the coordinator's own whole-file retries must carry the upload
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint, retries=0, breaker_failures=100))
    (path,) = make_files(tmp_path, 1, size=6 * MiB)
    data = path.read_bytes()
    config = UploadConfig(max_retries=3, delete_after_upload=True, **FAST_RETRY)
    with UploadCoordinator(storage, config) as coordinator:
        future = coordinator.submit(path, "video.mp4")
    assert future.result().attempts == 3
    assert not path.exists()
    assert s3_client.get_object(Bucket=s3_bucket, Key="video.mp4")["Body"].read() == data
    assert not s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")
    assert [request_kind(r) for r in proxy.requests].count("abort") == 2  # each failed try cleaned up


def test_failures_surface_after_all_uploads_finish(
    tmp_path: Path, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    proxy = proxy_for(moto_endpoint)
    proxy.add(Fault("status", match="episode_001", status=403, code="AccessDenied"))
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint))
    paths = make_files(tmp_path, 3)
    reports: list[UploadProgress] = []
    config = UploadConfig(concurrency=1, delete_after_upload=True, **FAST_RETRY)
    failure = pytest.raises(StorageError, match="episode_001.*access denied")
    with failure, UploadCoordinator(storage, config, reports.append) as coordinator:
        for path in paths:
            coordinator.submit(path, path.name)
    assert [(r.key, r.ok) for r in reports] == [
        ("episode_000.parquet", True), ("episode_001.parquet", False), ("episode_002.parquet", True)
    ]  # fmt: skip
    assert [p.exists() for p in paths] == [False, True, False]  # a failed file is kept


def test_missing_local_file_is_a_clear_error(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "dst"))
    failure = pytest.raises(StorageError, match="gone.parquet: cannot read local file")
    with failure, UploadCoordinator(storage) as coordinator:
        coordinator.submit(tmp_path / "gone.parquet", "gone.parquet")
