"""The Alibaba Cloud OSS backend (oss2).

Endpoint and keys come from :class:`~roboflow.storage.base.StorageOptions`, else from ``OSS_ENDPOINT``,
``OSS_ACCESS_KEY_ID`` and ``OSS_ACCESS_KEY_SECRET`` (plus ``OSS_SECURITY_TOKEN`` for STS keys). With a
region (``OSS_REGION`` or the ``region`` option, e.g. ``cn-hangzhou``) requests are signed with OSS's V4
signature, which newer accounts require; without one, with V1. oss2
retries nothing itself outside its iterators, which are not used; roboflow's guard does the retrying.
CRC-64 checks stay on: oss2 compares each PUT, part and completed object against the server's checksum.
"""

from __future__ import annotations

import functools
import http.client
import os
from typing import Any

import oss2
import oss2.exceptions
import oss2.models
import requests.exceptions
import urllib3.exceptions

from roboflow.errors import ConfigError, RoboflowError, StorageError
from roboflow.storage.base import ObjectInfo, StorageOptions
from roboflow.storage.guard import CallGuard, ShortRead
from roboflow.storage.location import Location
from roboflow.storage.remote import (
    RemoteStorage,
    check_part_size,
    credentials,
    failing_store_error,
    unreachable_store_error,
)

__all__ = ["OssStorage"]

MIN_PART_SIZE = 100 * 1024
_NS = 10**9

_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServerBusy", "RequestTimeout", "InternalError", "ServiceUnavailable"}
)
_CREDENTIALS_HINT = "check OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET (or the storage credentials)"
#: error code → (message, hint) for permanent failures a user can fix.
_PERMANENT: dict[str, tuple[str, str]] = {
    "NoSuchKey": ("object not found", "check the URL"),
    "NoSuchBucket": ("bucket does not exist", "check the bucket name and OSS_ENDPOINT (the bucket's region)"),
    "AccessDenied": ("access denied", f"{_CREDENTIALS_HINT} and the bucket's ACL"),
    "InvalidAccessKeyId": ("access key not known to the store", _CREDENTIALS_HINT),
    "SignatureDoesNotMatch": ("request signature rejected", _CREDENTIALS_HINT),
    "InvalidBucketName": ("invalid bucket name", "check the bucket name in the URL"),
    "EntityTooSmall": ("multipart part too small", "OSS needs a part size of at least 100 KiB"),
}
_STATUS_FALLBACK: dict[int, tuple[str, str]] = {
    404: ("object not found", "check the URL"),
    403: ("access denied", f"{_CREDENTIALS_HINT} and the bucket's ACL"),
}


class OssStorage(RemoteStorage):
    """Objects under ``oss://bucket/prefix``; see :class:`~roboflow.storage.remote.RemoteStorage`."""

    @classmethod
    def from_location(cls, location: Location, options: StorageOptions) -> OssStorage:
        """The storage at a parsed ``oss://`` URL, configured from ``options`` and the environment."""
        check_part_size(location, options, store="OSS", minimum=MIN_PART_SIZE, wording="100 KiB")
        env = os.environ
        endpoint = options.endpoint or env.get("OSS_ENDPOINT")
        if not endpoint:
            raise ConfigError(
                "no OSS endpoint configured",
                path=location.url,
                hint="set OSS_ENDPOINT, e.g. https://oss-cn-hangzhou.aliyuncs.com",
            )
        key_id, secret, token = credentials(
            options, ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SECURITY_TOKEN")
        )
        if not key_id or not secret:
            raise ConfigError("no OSS credentials found", path=location.url, hint=_CREDENTIALS_HINT)
        region = options.region or env.get("OSS_REGION") or None
        version = oss2.AUTH_VERSION_4 if region else oss2.AUTH_VERSION_1
        auth = (
            oss2.StsAuth(key_id, secret, token, auth_version=version)
            if token
            else oss2.make_auth(key_id, secret, auth_version=version)
        )
        try:
            bucket = oss2.Bucket(
                auth,
                endpoint,
                location.bucket,
                connect_timeout=(options.connect_timeout, options.read_timeout),
                session=_session(endpoint),
                region=region,
            )
        except oss2.exceptions.ClientError as err:
            raise StorageError(
                "invalid bucket name", path=location.url, hint="check the bucket name"
            ) from err
        guard = CallGuard.for_endpoint(
            f"oss:{endpoint}",
            options,
            is_transient=is_transient,
            convert=functools.partial(convert, endpoint=endpoint),
            secrets=tuple(s for s in (secret, token) if s),
        )
        return cls(
            OssBucket(bucket),
            guard,
            scheme="oss",
            bucket_name=location.bucket,
            prefix=location.path,
            options=options,
        )


class OssBucket:
    """The raw requests of one OSS bucket (see :class:`~roboflow.storage.remote.Bucket`)."""

    def __init__(self, bucket: oss2.Bucket) -> None:
        self._bucket = bucket

    def head(self, key: str) -> int | None:
        try:
            return int(self._bucket.head_object(key).content_length)
        except oss2.exceptions.NotFound:
            return None

    def get_range(self, key: str, start: int, stop: int) -> bytes:
        result = self._bucket.get_object(key, byte_range=(start, stop - 1))
        try:
            data: bytes = result.read()
        finally:
            result.resp.response.close()
        if len(data) != stop - start:
            raise ShortRead(f"body has {len(data)} of {stop - start} bytes")
        return data

    def put(self, key: str, data: bytearray) -> None:
        self._bucket.put_object(key, bytes(data))  # oss2 takes a bytearray for an iterable of ints

    def start_upload(self, key: str) -> str:
        return str(self._bucket.init_multipart_upload(key).upload_id)

    def upload_part(self, key: str, upload_id: str, number: int, data: bytearray) -> object:
        result = self._bucket.upload_part(key, upload_id, number, bytes(data))
        # size and CRC let oss2 check the completed object's CRC-64 against the parts.
        return oss2.models.PartInfo(number, result.etag, size=len(data), part_crc=result.crc)

    def complete_upload(self, key: str, upload_id: str, parts: list[object]) -> None:
        self._bucket.complete_multipart_upload(key, upload_id, parts)

    def abort_upload(self, key: str, upload_id: str) -> None:
        self._bucket.abort_multipart_upload(key, upload_id)

    def delete(self, key: str) -> None:
        self._bucket.delete_object(key)

    def list_page(self, prefix: str, token: str | None, limit: int) -> tuple[list[ObjectInfo], str | None]:
        page = self._bucket.list_objects_v2(prefix=prefix, continuation_token=token or "", max_keys=limit)
        found = [ObjectInfo(item.key, int(item.size), int(item.last_modified) * _NS, item.etag)
                 for item in page.object_list]  # oss2 gives whole seconds and strips the quotes
        return found, page.next_continuation_token if page.is_truncated else None

    def is_missing_upload(self, err: BaseException) -> bool:
        return isinstance(err, oss2.exceptions.NoSuchUpload)

    def pending_uploads(self, prefix: str) -> list[tuple[str, str]]:
        page = self._bucket.list_multipart_uploads(prefix=prefix)
        return [(str(u.key), str(u.upload_id)) for u in page.upload_list]


def is_transient(err: BaseException) -> bool:
    """Whether an OSS failure may go away: network faults, timeouts, CRC mismatches, 5xx, throttling."""
    if isinstance(err, (oss2.exceptions.RequestError, oss2.exceptions.InconsistentError)):
        return True
    if isinstance(err, oss2.exceptions.OssError):
        return err.status >= 500 or err.status == 429 or err.code in _TRANSIENT_CODES
    return isinstance(
        err,
        (
            ShortRead,
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ),
    )


def convert(err: BaseException, operation: str, url: str, *, endpoint: str) -> RoboflowError:
    """Word an OSS failure as a roboflow error (never including credentials)."""
    if isinstance(err, oss2.exceptions.OssError) and err.status > 0:
        if is_transient(err):
            return failing_store_error(
                operation,
                url,
                endpoint=endpoint,
                answer=f"OSS answered {err.code or 'an error'} (HTTP {err.status})",
            )
        fallback = (f"OSS refused the request: {err.code} (HTTP {err.status})", "")
        message, hint = _PERMANENT.get(err.code) or _STATUS_FALLBACK.get(err.status, fallback)
        return StorageError(f"{operation}: {message}", path=url, hint=hint or None)
    if is_transient(err):
        return unreachable_store_error(operation, url, endpoint=endpoint, cause=_network_cause(err))
    return StorageError(f"{operation}: {type(err).__name__}: {err}", path=url)


def _network_cause(err: BaseException) -> str:
    """The name of the underlying network exception (oss2 wraps them all in RequestError)."""
    cause = getattr(err, "exception", None)
    return type(cause).__name__ if isinstance(cause, BaseException) else type(err).__name__


@functools.lru_cache(maxsize=32)
def _session(endpoint: str) -> Any:
    """One connection pool per endpoint, shared by every bucket on it."""
    return oss2.Session(pool_size=32)
