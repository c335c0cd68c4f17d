"""Upload many local files with bounded concurrency, bounded memory and retries (the seed's
``EpisodeUploadCoordinator``).

:meth:`UploadCoordinator.submit` blocks while ``max_pending`` uploads are unfinished, so a producer
writing episodes faster than the network takes them is slowed down instead of piling up files or
memory. Each file is retried as a whole (its partial upload aborted) when it fails with a
:class:`~roboflow.errors.TransientStorageError`, on top of the per-request retries of the storage.
An open circuit breaker is not retried here: the store is down, and waiting a few seconds will not
change that.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from roboflow.errors import StorageError, TransientStorageError
from roboflow.resilience import RetryPolicy, retry_call
from roboflow.storage.base import Storage

__all__ = ["UploadConfig", "UploadCoordinator", "UploadProgress", "UploadResult"]

logger = logging.getLogger(__name__)

_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadConfig:
    """How the coordinator uploads.

    Attributes:
        concurrency: Files uploaded at once.
        max_pending: Submitted files not yet finished (running or queued) before ``submit`` blocks.
        max_retries: Whole-file retries after a transient failure.
        retry_base_delay: First backoff in seconds; doubles per retry, with jitter.
        retry_max_delay: Cap of one backoff in seconds.
        delete_after_upload: Delete each local file once its upload has completed.
    """

    concurrency: int = 4
    max_pending: int = 100
    max_retries: int = 3
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    delete_after_upload: bool = False


@dataclass(frozen=True, slots=True)
class UploadResult:
    """One completed upload."""

    path: Path
    key: str
    size: int
    attempts: int


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Reported after every finished file (from a worker thread).

    Attributes:
        key: The key of the file that just finished.
        ok: Whether it was uploaded (False: it failed for good).
        files_done: Files uploaded so far.
        files_failed: Files failed so far.
        files_submitted: Files submitted so far.
        bytes_done: Bytes uploaded so far.
    """

    key: str
    ok: bool
    files_done: int
    files_failed: int
    files_submitted: int
    bytes_done: int


class UploadCoordinator:
    """Uploads local files to one storage from a pool of threads.

    Use as a context manager: leaving the block waits for every upload and raises the first failure;
    leaving it by an exception cancels the uploads not yet started.

    Args:
        storage: Where the files go.
        config: Concurrency, queue bound, retries.
        progress: Called after each finished file; must be quick and thread-safe.
    """

    def __init__(
        self,
        storage: Storage,
        config: UploadConfig | None = None,
        progress: Callable[[UploadProgress], None] | None = None,
    ) -> None:
        config = config or UploadConfig()
        if config.concurrency < 1 or config.max_pending < 1:
            raise ValueError("concurrency and max_pending must be at least 1")
        self._storage = storage
        self._config = config
        self._progress = progress
        self._policy = RetryPolicy(
            max_retries=config.max_retries,
            base_delay=config.retry_base_delay,
            max_delay=config.retry_max_delay,
        )
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="roboflow-upload")
        self._slots = threading.BoundedSemaphore(config.max_pending)
        self._lock = threading.Lock()
        self._futures: list[Future[UploadResult]] = []
        self._submitted = self._done = self._failed = self._bytes = 0
        self._closed = False

    def submit(self, path: Path | str, key: str) -> Future[UploadResult]:
        """Queue ``path`` for upload to ``key``; blocks while ``max_pending`` uploads are unfinished."""
        if self._closed:
            raise ValueError("submit on a closed upload coordinator")
        self._slots.acquire()
        try:
            future = self._pool.submit(self._upload, Path(path), key)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        with self._lock:
            self._submitted += 1
            self._futures.append(future)
        return future

    def wait(self) -> list[UploadResult]:
        """Wait for every submitted upload; return their results or raise the first failure."""
        with self._lock:
            futures, self._futures = self._futures, []
        results: list[UploadResult] = []
        errors: list[BaseException] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as err:  # noqa: BLE001  # collected; the first is raised below
                errors.append(err)
        for other in errors[1:]:
            logger.error("upload failed: %s", other)
        if errors:
            raise errors[0]
        return results

    def close(self) -> None:
        """Wait for running uploads and stop the threads (idempotent; does not raise failures)."""
        self._closed = True
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None:
            with self._lock:
                for future in self._futures:
                    future.cancel()
            self.close()
            return
        try:
            self.wait()
        finally:
            self.close()

    def _upload(self, path: Path, key: str) -> UploadResult:
        attempts = 0

        def upload_once() -> None:
            nonlocal attempts
            attempts += 1
            with path.open("rb") as source, self._storage.writer(key) as target:
                shutil.copyfileobj(source, target, _COPY_CHUNK)

        try:
            size = path.stat().st_size
            retry_call(
                upload_once,
                is_transient=lambda err: isinstance(err, TransientStorageError),
                policy=self._policy,
            )
            if self._config.delete_after_upload:
                path.unlink()
        except OSError as err:
            self._report(key, ok=False, size=0)
            raise StorageError(f"cannot read local file: {err.strerror or err}", path=str(path)) from err
        except BaseException:
            self._report(key, ok=False, size=0)
            raise
        self._report(key, ok=True, size=size)
        return UploadResult(path, key, size, attempts)

    def _report(self, key: str, *, ok: bool, size: int) -> None:
        with self._lock:
            if ok:
                self._done += 1
                self._bytes += size
            else:
                self._failed += 1
            progress = UploadProgress(key, ok, self._done, self._failed, self._submitted, self._bytes)
        if self._progress is not None:
            try:
                self._progress(progress)
            except Exception:  # a broken progress bar must not fail uploads
                logger.exception("upload progress callback failed")
