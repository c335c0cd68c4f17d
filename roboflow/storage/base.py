"""The storage protocol every backend implements, its records and its options.

A :class:`Storage` is rooted at a directory-like URL (``/data/out``, ``s3://bucket/prefix``,
``oss://bucket/prefix``); keys are ``/``-separated paths relative to that root. A key never escapes
the root: ``..`` segments, absolute keys and empty segments are refused with a :class:`StorageError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, Self, runtime_checkable

from roboflow.errors import StorageError

__all__ = [
    "Credentials",
    "ObjectInfo",
    "ObjectWriter",
    "Storage",
    "StorageOptions",
    "check_key",
    "check_prefix",
]

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object found by :meth:`Storage.list`, with what tells a replaced object from the one listed before.

    Attributes:
        key: The key relative to the storage root.
        size: Size in bytes.
        mtime_ns: Last modification in nanoseconds since the Unix epoch, at the store's resolution (local files:
            the file system's; S3: milliseconds or seconds; OSS: seconds).
        etag: The store's entity tag, without quotes (None for local files). It changes whenever the object is
            written with other content.
    """

    key: str
    size: int
    mtime_ns: int
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair given explicitly instead of through the environment.

    Never shown: every field is left out of ``repr`` so a logged options object does not leak it.
    """

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """How a storage backend talks to its store.

    Attributes:
        range_size: Bytes per ranged GET of the seekable reader (the seed's 10 MB).
        cache_ranges: Ranges the seekable reader keeps (LRU); the tail of a file and the current
            position fit in two. One more range may be in flight (read-ahead of sequential reads).
        part_size: Multipart part size; objects up to this size are written with one PUT. S3 needs at
            least 5 MiB, OSS at least 100 KiB.
        page_size: Keys per listing request (S3 and OSS cap it at 1000).
        retries: Retries of a transient failure per request (so ``retries + 1`` attempts).
        retry_base_delay: First backoff in seconds; doubles per retry, with jitter.
        retry_max_delay: Cap of one backoff in seconds.
        connect_timeout: Seconds to establish a connection.
        read_timeout: Seconds without data before a request counts as timed out.
        breaker_failures: Consecutive transient failures that open an endpoint's circuit breaker.
        breaker_timeout: Seconds an open breaker waits before letting a probe through. Breakers are
            per process and per endpoint: the first storage opened on an endpoint fixes both values.
        endpoint: Endpoint URL; overrides ``AWS_ENDPOINT`` / ``OSS_ENDPOINT``.
        region: S3 region, overriding ``AWS_REGION`` / ``AWS_DEFAULT_REGION``; for OSS the V4 signing
            region, overriding ``OSS_REGION`` (without one, OSS requests are signed with V1).
        credentials: Access keys; override the environment.
    """

    range_size: int = 10 * MiB
    cache_ranges: int = 2
    part_size: int = 8 * MiB
    page_size: int = 1000
    retries: int = 3
    retry_base_delay: float = 0.2
    retry_max_delay: float = 10.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    breaker_failures: int = 5
    breaker_timeout: float = 30.0
    endpoint: str | None = None
    region: str | None = None
    credentials: Credentials | None = field(default=None, repr=False)


class ObjectWriter(Protocol):
    """A write-only binary stream whose object appears only when it is closed without error.

    Use it as a context manager: leaving the block normally commits, leaving it with an exception
    calls :meth:`abort`, which leaves nothing behind.
    """

    def write(self, data: Any) -> int: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None: ...


@runtime_checkable
class Storage(Protocol):
    """Objects under one root URL. Backends: ``local``, ``s3``, ``oss`` (see :mod:`roboflow.storage`)."""

    @property
    def url(self) -> str:
        """The root URL, without a trailing slash."""
        ...

    def reader(self, key: str) -> BinaryIO:
        """A stream reading the object from the start, in ranges for remote objects."""
        ...

    def seekable_reader(self, key: str) -> BinaryIO:
        """A seekable stream; remote objects are fetched range by range as they are read."""
        ...

    def writer(self, key: str) -> ObjectWriter:
        """A stream writing the object, visible only once closed without error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order, fetched page by page."""
        ...

    def size(self, key: str) -> int:
        """Size of the object in bytes."""
        ...


def check_key(key: str, root: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`StorageError`.

    Args:
        key: The key to check.
        root: The storage root URL, for the message.
    """
    problem = None
    if not key:
        problem = "empty key"
    elif key.startswith(("/", "\\")):
        problem = "absolute key"
    elif any(part in ("", ".", "..") for part in key.split("/")):
        problem = "key with an empty, '.' or '..' segment"
    elif "\\" in key or "\x00" in key:
        problem = "key with a backslash or NUL character"
    if problem is not None:
        raise StorageError(
            f"refusing {problem} {key!r}", path=root, hint="keys are relative paths inside the storage root"
        )
    return key


def check_prefix(prefix: str, root: str) -> str:
    """Return a listing prefix if it cannot escape the root (it may be empty or end with ``/``).

    Its directories are checked as a key; its last segment, a prefix of names matched as a string (``.``:
    hidden names), only has to be free of backslashes and NUL characters.
    """
    directory, _, partial = prefix.rpartition("/")
    if directory or prefix.startswith("/"):
        check_key(directory or prefix, root)
    if "\\" in partial or "\x00" in partial:
        check_key(partial, root)
    return prefix
