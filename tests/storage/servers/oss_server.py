"""A small OSS-protocol server for tests: the calls :mod:`roboflow.storage.oss` makes, as oss2 parses them.

Path-style requests (``/bucket/key``, what oss2 sends to an IP endpoint), objects in memory:
PutObject, GetObject (with ``Range``), HeadObject, DeleteObject, ListObjectsV2 (OSS's XML, with
``EncodingType=url``), InitiateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload. Objects, parts and completions carry ``x-oss-hash-crc64ecma`` so oss2's CRC
checks run as against the real service. Authentication checks the access key id only (V1 and V4
headers), not the signature. ``stats`` counts requests and response body bytes; ``corrupt_next = n`` flips a byte of the
next ``n`` uploaded bodies, as a corrupting network would.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.etree import ElementTree

import crcmod

from .loopback import LoopbackServer

_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
MIN_PART_SIZE = 100 * 1024


@dataclass
class StoredObject:
    data: bytes
    kind: str = "Normal"
    modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return hashlib.md5(self.data).hexdigest().upper()


@dataclass
class Upload:
    bucket: str
    key: str
    parts: dict[int, bytes] = field(default_factory=dict)


class OssServer(LoopbackServer):
    """Start with :meth:`start`, stop with :meth:`stop`; ``endpoint`` is its ``http://127.0.0.1:port``."""

    def __init__(self, access_key_id: str) -> None:
        self.access_key_id = access_key_id
        self.buckets: dict[str, dict[str, StoredObject]] = {}
        self.uploads: dict[str, Upload] = {}
        self.stats: Counter[str] = Counter()
        self.corrupt_next = 0
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        super().__init__(_handler_for(self))

    def create_bucket(self, name: str) -> None:
        with self.lock:
            self.buckets.setdefault(name, {})

    def next_id(self) -> str:
        return f"{next(self._ids):08X}{time.monotonic_ns():016X}"


def _handler_for(server: OssServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_OssHandler):
        oss = server

    return Handler


class _OssHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    oss: OssServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------------

    def _route(self) -> None:
        parts = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        self.body = self._read_body()
        if self.command == "PUT" and self.body and self.oss.corrupt_next > 0:
            self.oss.corrupt_next -= 1
            self.body = self.body[:-1] + bytes([self.body[-1] ^ 0xFF])
        with self.oss.lock:
            self.oss.stats[f"{self.command} {'object' if key else 'bucket'}"] += 1
        authorization = self.headers.get("Authorization", "")
        signed_by = (
            f"OSS {self.oss.access_key_id}:",
            f"OSS4-HMAC-SHA256 Credential={self.oss.access_key_id}/",
        )
        with self.oss.lock:
            self.oss.stats["auth " + authorization.split(" ", 1)[0]] += 1
        if not authorization.startswith(signed_by):
            return self._error(
                403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist."
            )
        objects = self.oss.buckets.get(bucket)
        if objects is None:
            return self._error(404, "NoSuchBucket", "The specified bucket does not exist.")
        handler = getattr(self, f"_{self.command.lower()}_{'object' if key else 'bucket'}", None)
        if handler is None:
            return self._error(405, "MethodNotAllowed", "not supported by the test server")
        handler(bucket, objects, key)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _route

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: int = -1
    ) -> None:
        self.send_response(status)
        self.send_header("x-oss-request-id", self.oss.next_id())
        self.send_header("Content-Length", str(len(body) if length < 0 else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            with self.oss.lock:
                self.oss.stats["body bytes"] += len(body)
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = _xml("Error", Code=code, Message=message, RequestId=self.oss.next_id(), HostId="127.0.0.1")
        if self.command == "HEAD":  # no body: OSS sends the error document base64-encoded in a header
            return self._send(status, headers={"x-oss-err": base64.b64encode(body).decode()})
        self._send(status, body, {"Content-Type": "application/xml"})

    @staticmethod
    def _object_headers(stored: StoredObject) -> dict[str, str]:
        return {
            "ETag": f'"{stored.etag}"',
            "Last-Modified": formatdate(stored.modified, usegmt=True),
            "Content-Type": "application/octet-stream",
            "x-oss-object-type": stored.kind,
            "x-oss-hash-crc64ecma": str(_crc64(stored.data)),
        }

    # -- objects ------------------------------------------------------------------------------------

    def _put_object(self, bucket: str, objects: dict[str, StoredObject], key: str) -> None:
        if "uploadId" in self.query:
            upload = self.oss.uploads.get(self.query["uploadId"])
            if upload is None:
                return self._error(404, "NoSuchUpload", "The specified upload does not exist.")
            upload.parts[int(self.query["partNumber"])] = self.body
        else:
            with self.oss.lock:
                objects[key] = StoredObject(self.body)
        etag = hashlib.md5(self.body).hexdigest().upper()
        self._send(200, headers={"ETag": f'"{etag}"', "x-oss-hash-crc64ecma": str(_crc64(self.body))})

    def _get_object(self, bucket: str, objects: dict[str, StoredObject], key: str) -> None:
        stored = objects.get(key)
        if stored is None:
            return self._error(404, "NoSuchKey", "The specified key does not exist.")
        headers = self._object_headers(stored)
        size = len(stored.data)
        byte_range = _parse_range(self.headers.get("Range", ""), size)
        if byte_range is None:  # OSS ignores a missing or invalid range and sends everything
            return self._send(200, stored.data, headers)
        start, stop = byte_range
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        self._send(206, stored.data[start:stop], headers)

    def _head_object(self, bucket: str, objects: dict[str, StoredObject], key: str) -> None:
        stored = objects.get(key)
        if stored is None:
            return self._send(404)
        self._send(200, headers=self._object_headers(stored), length=len(stored.data))

    def _delete_object(self, bucket: str, objects: dict[str, StoredObject], key: str) -> None:
        if "uploadId" in self.query:
            with self.oss.lock:
                upload = self.oss.uploads.pop(self.query["uploadId"], None)
            if upload is None:
                return self._error(404, "NoSuchUpload", "The specified upload does not exist.")
        else:
            with self.oss.lock:
                objects.pop(key, None)
        self._send(204)

    def _post_object(self, bucket: str, objects: dict[str, StoredObject], key: str) -> None:
        if "uploads" in self.query:
            upload_id = self.oss.next_id()
            with self.oss.lock:
                self.oss.uploads[upload_id] = Upload(bucket, key)
            body = _xml("InitiateMultipartUploadResult", Bucket=bucket, Key=key, UploadId=upload_id)
            return self._send(200, body, {"Content-Type": "application/xml"})
        upload = self.oss.uploads.get(self.query.get("uploadId", ""))
        if upload is None:
            return self._error(404, "NoSuchUpload", "The specified upload does not exist.")
        listed = [
            (int(part.findtext("PartNumber", "0")), part.findtext("ETag", "").strip('"'))
            for part in ElementTree.fromstring(self.body).findall("Part")
        ]
        numbers = [number for number, _ in listed]
        if numbers != sorted(set(numbers)) or any(
            n not in upload.parts or hashlib.md5(upload.parts[n]).hexdigest().upper() != etag
            for n, etag in listed
        ):
            return self._error(400, "InvalidPart", "One or more of the specified parts could not be found.")
        if any(len(upload.parts[n]) < MIN_PART_SIZE for n in numbers[:-1]):
            return self._error(
                400, "EntityTooSmall", "Your proposed upload is smaller than the minimum size."
            )
        stored = StoredObject(b"".join(upload.parts[n] for n in numbers), kind="Multipart")
        with self.oss.lock:
            objects[key] = stored
            del self.oss.uploads[self.query["uploadId"]]
        body = _xml("CompleteMultipartUploadResult", Bucket=bucket, Key=key, ETag=f'"{stored.etag}"')
        self._send(
            200, body, {"Content-Type": "application/xml", "ETag": f'"{stored.etag}"',
                        "x-oss-hash-crc64ecma": str(_crc64(stored.data))},
        )  # fmt: skip

    # -- buckets ------------------------------------------------------------------------------------

    def _get_bucket(self, bucket: str, objects: dict[str, StoredObject], key: str) -> None:
        if self.query.get("list-type") != "2":
            return self._error(400, "InvalidArgument", "the test server lists with ListObjectsV2 only")
        prefix = self.query.get("prefix", "")
        max_keys = int(self.query.get("max-keys") or 100)
        if not 0 < max_keys <= 1000:
            return self._error(400, "InvalidArgument", "max-keys must be between 1 and 1000")
        token = self.query.get("continuation-token", "")
        start = base64.urlsafe_b64decode(token).decode() if token else ""
        encode = self.query.get("encoding-type") == "url"
        with self.oss.lock:
            keys = sorted((k for k in objects if k.startswith(prefix) and k >= start), key=str.encode)
            page = [(k, objects[k]) for k in keys[: max_keys + 1]]
        truncated = len(page) > max_keys
        root = ElementTree.Element("ListBucketResult")
        fields = {"Name": bucket, "Prefix": _enc(prefix, encode), "MaxKeys": str(max_keys),
                  "Delimiter": "", "IsTruncated": str(truncated).lower(), "KeyCount": str(len(page[:max_keys]))}  # fmt: skip
        if encode:
            fields["EncodingType"] = "url"
        if truncated:
            fields["NextContinuationToken"] = base64.urlsafe_b64encode(page[max_keys][0].encode()).decode()
        for name, value in fields.items():
            ElementTree.SubElement(root, name).text = value
        for object_key, stored in page[:max_keys]:
            contents = ElementTree.SubElement(root, "Contents")
            for name, value in (
                ("Key", _enc(object_key, encode)),
                ("LastModified", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stored.modified))),
                ("ETag", f'"{stored.etag}"'),
                ("Type", stored.kind),
                ("Size", str(len(stored.data))),
                ("StorageClass", "Standard"),
            ):
                ElementTree.SubElement(contents, name).text = value
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root)
        self._send(200, body, {"Content-Type": "application/xml"})


def _enc(text: str, encode: bool) -> str:
    return quote(text, safe="/") if encode else text


def _xml(tag: str, **fields: str) -> bytes:
    root = ElementTree.Element(tag)
    for name, value in fields.items():
        ElementTree.SubElement(root, name).text = value
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    if not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].partition("-")
    try:
        if first == "":
            start, stop = max(0, size - int(last)), size
        else:
            start, stop = int(first), (int(last) + 1 if last else size)
    except ValueError:
        return None
    if start >= size or stop <= start:
        return None
    return start, min(stop, size)
