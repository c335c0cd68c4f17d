"""The S3 backend (boto3), for AWS and S3-compatible stores.

Endpoint, region and keys come from :class:`~roboflow.storage.base.StorageOptions`, else from
``AWS_ENDPOINT`` (or ``AWS_ENDPOINT_URL``), ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, else from boto3's own chain
(profiles, instance roles). botocore's retries are switched off (one attempt per call): roboflow's
guard does the retrying so that every failure is counted once, by one breaker.
"""

from __future__ import annotations

import datetime
import functools
import http.client
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
import urllib3.exceptions
from botocore.config import Config

from roboflow.errors import RoboflowError, StorageError
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

__all__ = ["S3Storage"]

MIN_PART_SIZE = 5 * 1024 * 1024
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_READ_CHUNK = 1024 * 1024

_TRANSIENT_CODES = frozenset(
    {
        "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
        "RequestLimitExceeded", "RequestTimeout", "InternalError", "ServiceUnavailable", "BadDigest",
        "IncompleteBody", "XAmzContentSHA256Mismatch",
    }
)  # fmt: skip
_CREDENTIALS_HINT = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the storage credentials)"
#: error code → (message, hint) for permanent failures a user can fix.
_PERMANENT: dict[str, tuple[str, str]] = {
    "NoSuchKey": ("object not found", "check the URL"),
    "404": ("object not found", "check the URL"),
    "NotFound": ("object not found", "check the URL"),
    "NoSuchBucket": ("bucket does not exist", "check the bucket name, AWS_ENDPOINT and AWS_REGION"),
    "AccessDenied": ("access denied", f"{_CREDENTIALS_HINT} and the bucket policy"),
    "403": ("access denied", f"{_CREDENTIALS_HINT} and the bucket policy"),
    "Forbidden": ("access denied", f"{_CREDENTIALS_HINT} and the bucket policy"),
    "InvalidAccessKeyId": ("access key not known to the store", _CREDENTIALS_HINT),
    "SignatureDoesNotMatch": ("request signature rejected", _CREDENTIALS_HINT),
    "PermanentRedirect": ("bucket is in another region", "set AWS_REGION to the bucket's region"),
    "AuthorizationHeaderMalformed": (
        "request signed for the wrong region",
        "set AWS_REGION to the bucket's region",
    ),
    "InvalidBucketName": ("invalid bucket name", "check the bucket name in the URL"),
    "EntityTooSmall": ("multipart part too small", "S3 needs a part size of at least 5 MiB"),
}


@dataclass(frozen=True, slots=True)
class _ClientSettings:
    endpoint: str | None
    region: str
    access_key_id: str | None = field(repr=False)
    secret_access_key: str | None = field(repr=False)
    session_token: str | None = field(repr=False)
    connect_timeout: float
    read_timeout: float


class S3Storage(RemoteStorage):
    """Objects under ``s3://bucket/prefix``; see :class:`~roboflow.storage.remote.RemoteStorage`."""

    @classmethod
    def from_location(cls, location: Location, options: StorageOptions) -> S3Storage:
        """The storage at a parsed ``s3://`` URL, configured from ``options`` and the environment."""
        check_part_size(location, options, store="S3", minimum=MIN_PART_SIZE, wording="5 MiB")
        settings = _settings(options)
        endpoint_name = settings.endpoint or f"aws:{settings.region}"
        guard = CallGuard.for_endpoint(
            f"s3:{endpoint_name}",
            options,
            is_transient=is_transient,
            convert=functools.partial(convert, endpoint=endpoint_name),
            secrets=tuple(s for s in (settings.secret_access_key, settings.session_token) if s),
        )
        bucket = S3Bucket(_client(settings), location.bucket)
        return cls(
            bucket, guard, scheme="s3", bucket_name=location.bucket, prefix=location.path, options=options
        )


class S3Bucket:
    """The raw requests of one S3 bucket (see :class:`~roboflow.storage.remote.Bucket`)."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._name = name

    def head(self, key: str) -> int | None:
        try:
            return int(self._client.head_object(Bucket=self._name, Key=key)["ContentLength"])
        except botocore.exceptions.ClientError as err:
            if _code(err) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def get_range(self, key: str, start: int, stop: int) -> bytes:
        response = self._client.get_object(Bucket=self._name, Key=key, Range=f"bytes={start}-{stop - 1}")
        body = response["Body"]
        try:
            data = bytearray(stop - start)
            view = memoryview(data)
            filled = 0
            while filled < len(data):  # chunked copy: no second full-size buffer
                chunk = body.read(min(_READ_CHUNK, len(data) - filled))
                if not chunk:
                    raise ShortRead(f"body ended at {filled} of {len(data)} bytes")
                view[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
            body.read()  # reaching the end hands the connection back to the pool
        except BaseException:
            body.close()  # a half-read connection cannot be reused
            raise
        return data  # type: ignore[return-value]  # a bytearray is used as bytes, never mutated

    def put(self, key: str, data: bytearray) -> None:
        self._client.put_object(Bucket=self._name, Key=key, Body=data)

    def start_upload(self, key: str) -> str:
        return str(self._client.create_multipart_upload(Bucket=self._name, Key=key)["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytearray) -> object:
        response = self._client.upload_part(
            Bucket=self._name, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def complete_upload(self, key: str, upload_id: str, parts: list[object]) -> None:
        self._client.complete_multipart_upload(
            Bucket=self._name, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    def abort_upload(self, key: str, upload_id: str) -> None:
        self._client.abort_multipart_upload(Bucket=self._name, Key=key, UploadId=upload_id)

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._name, Key=key)

    def list_page(self, prefix: str, token: str | None, limit: int) -> tuple[list[ObjectInfo], str | None]:
        request: dict[str, Any] = {"Bucket": self._name, "Prefix": prefix, "MaxKeys": limit}
        if token:
            request["ContinuationToken"] = token
        page = self._client.list_objects_v2(**request)
        found = [
            ObjectInfo(item["Key"], int(item["Size"]), _nanoseconds(item["LastModified"]), item["ETag"].strip('"'))
            for item in page.get("Contents", ())
        ]
        return found, page.get("NextContinuationToken") if page.get("IsTruncated") else None

    def is_missing_upload(self, err: BaseException) -> bool:
        return isinstance(err, botocore.exceptions.ClientError) and _code(err) == "NoSuchUpload"

    def pending_uploads(self, prefix: str) -> list[tuple[str, str]]:
        page = self._client.list_multipart_uploads(Bucket=self._name, Prefix=prefix)
        return [(str(u["Key"]), str(u["UploadId"])) for u in page.get("Uploads", ())]


def is_transient(err: BaseException) -> bool:
    """Whether an S3 failure may go away: network faults, timeouts, 5xx, 429 and throttling codes."""
    if isinstance(err, botocore.exceptions.ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or status == 429 or _code(err) in _TRANSIENT_CODES
    if isinstance(err, botocore.exceptions.SSLError):  # a certificate problem does not go away
        return False
    return isinstance(
        err,
        (
            ShortRead,
            botocore.exceptions.ConnectionError,  # refused, connect timeout
            botocore.exceptions.HTTPClientError,  # closed mid-response, read timeout
            botocore.exceptions.IncompleteReadError,
            botocore.exceptions.ResponseStreamingError,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ),
    )


def convert(err: BaseException, operation: str, url: str, *, endpoint: str) -> RoboflowError:
    """Word an S3 failure as a roboflow error (never including credentials)."""
    if isinstance(err, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return StorageError(f"{operation}: no S3 credentials found", path=url, hint=_CREDENTIALS_HINT)
    if isinstance(err, botocore.exceptions.ClientError):
        code = _code(err)
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        if is_transient(err):
            return failing_store_error(
                operation, url, endpoint=endpoint, answer=f"S3 answered {code} (HTTP {status})"
            )
        message, hint = _PERMANENT.get(code, (f"S3 refused the request: {code} (HTTP {status})", ""))
        return StorageError(f"{operation}: {message}", path=url, hint=hint or None)
    if is_transient(err):
        return unreachable_store_error(operation, url, endpoint=endpoint, cause=type(err).__name__)
    if isinstance(err, botocore.exceptions.SSLError):
        return StorageError(
            f"{operation}: TLS failure talking to {endpoint}",
            path=url,
            hint="check the endpoint URL and its certificate (AWS_CA_BUNDLE for a private CA)",
        )
    return StorageError(f"{operation}: {type(err).__name__}: {err}", path=url)


def _nanoseconds(when: datetime.datetime) -> int:
    """A listing's ``LastModified`` (an aware datetime) in nanoseconds since the Unix epoch, without float rounding."""
    return (when - _EPOCH) // datetime.timedelta(microseconds=1) * 1000


def _code(err: botocore.exceptions.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _settings(options: StorageOptions) -> _ClientSettings:
    env = os.environ
    endpoint = options.endpoint or env.get("AWS_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or None
    region = options.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    # None lets boto3 look further (profiles, instance roles)
    key_id, secret, token = credentials(
        options, ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    )
    return _ClientSettings(
        endpoint, region, key_id, secret, token, options.connect_timeout, options.read_timeout
    )


_CLIENT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=32)
def _client(settings: _ClientSettings) -> Any:
    """One thread-safe client per settings (creating one costs tens of milliseconds)."""
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},  # ours retry, see the module docstring
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_pool_connections=32,
        # S3-compatible stores (MinIO, Ceph, OSS's S3 API) want path-style URLs and often reject the
        # flexible checksums botocore sends by default since 1.36.
        s3={"addressing_style": "path"} if settings.endpoint else None,
        request_checksum_calculation="when_required" if settings.endpoint else "when_supported",
        response_checksum_validation="when_required" if settings.endpoint else "when_supported",
    )
    with _CLIENT_LOCK:  # boto3 sessions are not thread-safe; clients are
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            aws_session_token=settings.session_token,
            region_name=settings.region,
        )
        return session.client("s3", endpoint_url=settings.endpoint, config=config)
