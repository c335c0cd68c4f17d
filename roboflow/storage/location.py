"""Storage URLs and the scheme registry.

``/path``, ``relative/path`` and ``file:///path`` are local; ``s3://bucket/prefix`` and
``oss://bucket/prefix`` are remote. A backend is named in :data:`SCHEMES` as ``"module:Class"`` and
imported only when a URL of its scheme is opened, so a local run never imports boto3 or oss2.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol, cast
from urllib.parse import unquote, urlsplit

from roboflow.errors import ConfigError, StorageError
from roboflow.storage.base import Storage, StorageOptions

__all__ = ["SCHEMES", "Location", "open_storage", "parse_url", "split_url"]

#: scheme → "module:Class" of its backend; the class has ``from_location(location, options)``.
SCHEMES: dict[str, str] = {
    "file": "roboflow.storage.local:LocalStorage",
    "s3": "roboflow.storage.s3:S3Storage",
    "oss": "roboflow.storage.oss:OssStorage",
}


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed storage URL.

    Attributes:
        scheme: ``file``, ``s3`` or ``oss``.
        bucket: The bucket; empty for ``file``.
        path: For ``file`` an absolute filesystem path; for buckets the key prefix, without leading or
            trailing ``/`` (empty for the bucket root).
    """

    scheme: str
    bucket: str
    path: str

    @property
    def url(self) -> str:
        """The canonical URL (local paths stay plain paths)."""
        if self.scheme == "file":
            return self.path
        return f"{self.scheme}://{self.bucket}/{self.path}" if self.path else f"{self.scheme}://{self.bucket}"

    @property
    def name(self) -> str:
        """The last path segment (empty at a bucket root)."""
        return PurePosixPath(self.path).name if self.path else ""

    @property
    def parent(self) -> Location:
        """The location one segment up (the bucket root stays the bucket root)."""
        parent = str(PurePosixPath(self.path).parent)
        if self.scheme == "file":
            return Location("file", "", parent)
        return Location(self.scheme, self.bucket, "" if parent == "." else parent)


class _Backend(Protocol):
    @classmethod
    def from_location(cls, location: Location, options: StorageOptions) -> Storage: ...


def parse_url(url: str) -> Location:
    """Parse a storage URL; raise :class:`StorageError` for an unknown scheme or a missing bucket."""
    if "://" not in url:
        return Location("file", "", os.path.normpath(Path(url).expanduser().absolute()))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StorageError(
            f"unknown storage scheme {scheme!r}", path=url, hint=f"use one of: {', '.join(sorted(SCHEMES))}"
        )
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StorageError("file URLs name no host", path=url, hint="write file:///absolute/path")
        return Location("file", "", os.path.normpath(unquote(parts.path) or "/"))
    if not parts.netloc:
        raise StorageError("no bucket in URL", path=url, hint=f"write {scheme}://bucket/prefix")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise StorageError(
            "storage URLs take no query, fragment or user part",
            path=f"{scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}",
            hint="pass endpoints and credentials through the environment or the storage options",
        )
    return Location(scheme, parts.netloc, parts.path.strip("/"))


def open_storage(url: str, options: StorageOptions | None = None) -> Storage:
    """The storage rooted at ``url`` (a directory or a bucket prefix); keys are relative to it.

    Args:
        url: ``/path``, ``file:///path``, ``s3://bucket/prefix`` or ``oss://bucket/prefix``.
        options: Backend options; defaults, with credentials and endpoints from the environment.
    """
    location = parse_url(url)
    module_name, _, class_name = SCHEMES[location.scheme].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(
            f"the {location.scheme} storage backend cannot be imported: {err}",
            hint="install roboflow with its storage dependencies (boto3, oss2)",
        ) from err
    backend = cast(_Backend, getattr(module, class_name))
    return backend.from_location(location, options or StorageOptions())


def split_url(url: str, options: StorageOptions | None = None) -> tuple[Storage, str]:
    """The storage of ``url``'s parent and the key of its last segment (for single-object calls)."""
    location = parse_url(url)
    if not location.name:
        raise StorageError("URL names no object", path=url, hint="add the object key after the bucket")
    return open_storage(location.parent.url, options), location.name
