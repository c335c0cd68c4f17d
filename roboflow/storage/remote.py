"""The :class:`Storage` of an object store, shared by the S3 and OSS backends.

A backend only provides a :class:`Bucket`: the raw requests of one bucket (no retries), how to tell a
transient failure from a permanent one, and how to word a failure. :class:`RemoteStorage` adds
everything else once: keys under a root prefix, ranged seekable reads, multipart writes, paginated
listing, and a :class:`~roboflow.storage.guard.CallGuard` around every request.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol, TypeVar, cast

from roboflow.errors import StorageError, TransientStorageError
from roboflow.storage.base import ObjectInfo, StorageOptions, check_key, check_prefix
from roboflow.storage.guard import CallGuard
from roboflow.storage.location import Location
from roboflow.storage.ranged import RangedReader
from roboflow.storage.writer import MultipartWriter

__all__ = [
    "Bucket",
    "RemoteStorage",
    "check_part_size",
    "credentials",
    "failing_store_error",
    "unreachable_store_error",
]

T = TypeVar("T")


class Bucket(Protocol):
    """The raw requests of one bucket. Keys are full object keys; nothing here retries."""

    def head(self, key: str) -> int | None:
        """The object's size, or None if it does not exist."""
        ...

    def get_range(self, key: str, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)``, read completely (raise :class:`~roboflow.storage.guard.ShortRead` if cut)."""
        ...

    def put(self, key: str, data: bytearray) -> None: ...

    def start_upload(self, key: str) -> str: ...

    def upload_part(self, key: str, upload_id: str, number: int, data: bytearray) -> object: ...

    def complete_upload(self, key: str, upload_id: str, parts: list[object]) -> None: ...

    def abort_upload(self, key: str, upload_id: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def list_page(self, prefix: str, token: str | None, limit: int) -> tuple[list[ObjectInfo], str | None]:
        """One page of objects under ``prefix`` (full keys) and the token of the next page, if any."""
        ...

    def is_missing_upload(self, err: BaseException) -> bool:
        """Whether ``err`` says the multipart upload no longer exists."""
        ...

    def pending_uploads(self, prefix: str) -> list[tuple[str, str]]:
        """``(key, upload id)`` of multipart uploads started under ``prefix`` and neither completed nor aborted
        (the first thousand)."""
        ...


class RemoteStorage:
    """Objects under ``scheme://bucket/prefix`` of one endpoint.

    Args:
        bucket: The raw requests.
        guard: Retries, breaker and error wording of the endpoint.
        scheme: ``s3`` or ``oss``, for URLs.
        bucket_name: The bucket, for URLs.
        prefix: The root key prefix, without leading or trailing ``/`` (empty: the bucket root).
        options: Range, part and page sizes.
    """

    def __init__(
        self,
        bucket: Bucket,
        guard: CallGuard,
        *,
        scheme: str,
        bucket_name: str,
        prefix: str,
        options: StorageOptions,
    ) -> None:
        self._bucket = bucket
        self._guard = guard
        self._base = f"{scheme}://{bucket_name}"
        self._prefix = f"{prefix}/" if prefix else ""
        self._options = options

    @property
    def url(self) -> str:
        return f"{self._base}/{self._prefix.rstrip('/')}" if self._prefix else self._base

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key, self.url)

    def _url(self, full_key: str) -> str:
        return f"{self._base}/{full_key}"

    def reader(self, key: str) -> BinaryIO:
        return self._ranged(key, cache_ranges=1)

    def seekable_reader(self, key: str) -> BinaryIO:
        return self._ranged(key, cache_ranges=self._options.cache_ranges)

    def _ranged(self, key: str, *, cache_ranges: int) -> BinaryIO:
        full_key = self._key(key)
        url = self._url(full_key)
        size = self._size(full_key)

        def fetch(start: int, stop: int) -> bytes:
            return self._guard.call(
                f"GET bytes {start}-{stop - 1}", url, lambda: self._bucket.get_range(full_key, start, stop)
            )

        reader = RangedReader(
            fetch, size, name=url, range_size=self._options.range_size, cache_ranges=cache_ranges
        )
        return cast(BinaryIO, reader)

    def writer(self, key: str) -> MultipartWriter:
        full_key = self._key(key)
        return MultipartWriter(
            _Upload(self, full_key), url=self._url(full_key), part_size=self._options.part_size
        )

    def exists(self, key: str) -> bool:
        full_key = self._key(key)
        return self._call("HEAD", full_key, lambda: self._bucket.head(full_key)) is not None

    def size(self, key: str) -> int:
        return self._size(self._key(key))

    def _size(self, full_key: str) -> int:
        size = self._call("HEAD", full_key, lambda: self._bucket.head(full_key))
        if size is None:
            raise StorageError("object not found", path=self._url(full_key), hint="check the URL")
        return size

    def delete(self, key: str) -> None:
        full_key = self._key(key)
        self._call("DELETE", full_key, lambda: self._bucket.delete(full_key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full_prefix = self._prefix + check_prefix(prefix, self.url)
        token: str | None = None
        while True:
            request = functools.partial(self._bucket.list_page, full_prefix, token, self._options.page_size)
            page, token = self._guard.call("LIST", self._url(full_prefix), request)
            for info in page:
                yield dataclasses.replace(info, key=info.key[len(self._prefix) :])
            if token is None:
                return

    def abort_pending_uploads(self) -> int:
        """Abort the multipart uploads a killed writer left unfinished under this storage's prefix (they are
        invisible but billed); returns how many."""
        pending = self._guard.call("LIST UPLOADS", self.url, lambda: self._bucket.pending_uploads(self._prefix))
        for key, upload_id in pending:
            self._call("ABORT", key, functools.partial(self._bucket.abort_upload, key, upload_id))
        return len(pending)

    def _call(self, operation: str, full_key: str, func: Callable[[], T]) -> T:
        return self._guard.call(operation, self._url(full_key), func)


class _Upload:
    """The :class:`~roboflow.storage.writer.MultipartTarget` of one key, every request guarded."""

    def __init__(self, storage: RemoteStorage, full_key: str) -> None:
        self._storage = storage
        self._bucket = storage._bucket
        self._key = full_key

    def put(self, data: bytearray) -> None:
        self._storage._call("PUT", self._key, lambda: self._bucket.put(self._key, data))

    def start(self) -> str:
        return self._storage._call(
            "start multipart upload", self._key, lambda: self._bucket.start_upload(self._key)
        )

    def upload_part(self, upload_id: str, number: int, data: bytearray) -> object:
        return self._storage._call(
            f"upload part {number}",
            self._key,
            lambda: self._bucket.upload_part(self._key, upload_id, number, data),
        )

    def complete(self, upload_id: str, parts: list[object], size: int) -> None:
        attempts = 0

        def complete_once() -> None:
            nonlocal attempts
            attempts += 1
            try:
                self._bucket.complete_upload(self._key, upload_id, parts)
            except Exception as err:
                # A retry after a lost response finds the upload gone because it completed.
                if (
                    attempts > 1
                    and self._bucket.is_missing_upload(err)
                    and self._bucket.head(self._key) == size
                ):
                    return
                raise

        self._storage._call("complete multipart upload", self._key, complete_once)

    def abort(self, upload_id: str) -> None:
        def abort_once() -> None:
            try:
                self._bucket.abort_upload(self._key, upload_id)
            except Exception as err:
                if not self._bucket.is_missing_upload(err):  # already gone is what we want
                    raise

        self._storage._call("abort multipart upload", self._key, abort_once)


def check_part_size(
    location: Location, options: StorageOptions, *, store: str, minimum: int, wording: str
) -> None:
    """Refuse a part size below the store's minimum (``wording``: the minimum in words, ``5 MiB``).

    Raises:
        StorageError: ``options.part_size`` is below ``minimum`` bytes.
    """
    if options.part_size < minimum:
        raise StorageError(
            f"part size {options.part_size} is below {store}'s minimum of {minimum} bytes",
            path=location.url,
            hint=f"raise part_size to at least {wording}",
        )


def credentials(
    options: StorageOptions, env_names: tuple[str, str, str]
) -> tuple[str | None, str | None, str | None]:
    """Access key id, secret and session token: ``options.credentials``, else the environment variables named.

    A name that is not set gives None.
    """
    if options.credentials is not None:
        given = options.credentials
        return given.access_key_id, given.secret_access_key, given.session_token
    key_id, secret, token = (os.environ.get(name) for name in env_names)
    return key_id, secret, token


def failing_store_error(operation: str, url: str, *, endpoint: str, answer: str) -> TransientStorageError:
    """A transient error answered by the store (``answer``: e.g. ``S3 answered SlowDown (HTTP 503)``)."""
    return TransientStorageError(
        f"{operation}: {answer}",
        path=url,
        hint=f"the store at {endpoint} is failing or throttling; retried with backoff",
    )


def unreachable_store_error(operation: str, url: str, *, endpoint: str, cause: str) -> TransientStorageError:
    """A transient network failure (``cause``: the name of the network exception)."""
    return TransientStorageError(
        f"{operation}: {cause}",
        path=url,
        hint=f"the store at {endpoint} is unreachable or too slow; retried with backoff",
    )
