"""An HTTP reverse proxy that injects the faults object stores show in the field.

Put it between a client and a real server (moto, the OSS test server) and queue :class:`Fault`s; each
applies to the next request whose ``"METHOD /path?query"`` contains ``match``:

* ``status``: answer ``status`` with an S3/OSS error document carrying ``code`` (both parse it alike),
  without forwarding;
* ``reset``: reset the connection without forwarding (the request is lost);
* ``lost_response``: forward, then reset instead of answering (the request took effect);
* ``cut_body``: forward, send the headers and half the body, then reset;
* ``delay``: wait ``delay`` seconds before forwarding (the client times out first).

``skip`` lets that many matching requests through before the fault starts applying.

``down = True`` answers every request with 503 until set back. ``requests`` logs what arrived and
``body_bytes`` counts response body bytes sent to the client.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from .loopback import LoopbackServer

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Fault:
    kind: str
    match: str = ""
    times: int = 1
    status: int = 503
    code: str = "SlowDown"
    delay: float = 0.0
    skip: int = 0


class FaultProxy(LoopbackServer):
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults: list[Fault] = []
        self.down = False
        self.requests: list[str] = []
        self.body_bytes = 0
        self.lock = threading.Lock()
        super().__init__(_handler_for(self))

    def add(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def pending(self) -> int:
        """Fault applications not yet used."""
        with self.lock:
            return sum(fault.times for fault in self.faults)

    def take(self, request: str) -> Fault | None:
        with self.lock:
            self.requests.append(request)
            for fault in self.faults:
                if fault.times > 0 and fault.match in request:
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault
            return None


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        pass

    Handler.proxy = proxy
    return Handler


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass
        if self._upstream is not None:
            self._upstream.close()

    def _handle(self) -> None:
        body = self._read_body()
        fault = self.proxy.take(f"{self.command} {self.path}")
        if self.proxy.down:
            return self._error(503, "ServiceUnavailable")
        if fault is not None and fault.kind == "status":
            return self._error(fault.status, fault.code)
        if fault is not None and fault.kind == "reset":
            return self._reset()
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        try:
            status, reason, headers, payload = self._forward(body)
        except OSError:
            return self._reset()
        if fault is not None and fault.kind == "lost_response":
            return self._reset()
        self.send_response(status, reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        length = next((int(v) for n, v in headers if n.lower() == "content-length"), len(payload))
        self.send_header("Content-Length", str(length if self.command == "HEAD" else len(payload)))
        self.end_headers()
        if self.command == "HEAD" or not payload:
            return
        if fault is not None and fault.kind == "cut_body":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            return self._reset()
        with self.proxy.lock:  # counted before sending, so a client that has the bytes sees the count
            self.proxy.body_bytes += len(payload)
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(*self.proxy.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        try:
            self._upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = self._upstream.getresponse()
        except (OSError, http.client.HTTPException):  # a stale keep-alive connection: retry once, fresh
            self._upstream.close()
            self._upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = self._upstream.getresponse()
        payload = response.read()
        return response.status, response.reason, response.getheaders(), payload

    def _error(self, status: int, code: str) -> None:
        body = (
            b""
            if self.command == "HEAD"
            else (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>injected fault'
                f"</Message><RequestId>FAULT</RequestId><HostId>proxy</HostId></Error>"
            ).encode()
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with a TCP reset (SO_LINGER 0), as a crashed server or a middlebox does."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


def request_kind(request: str) -> str:
    """Name an S3/OSS request from ``"METHOD /bucket/key?query"``: initiate, part, complete, abort, list, or the method."""
    method, _, target = request.partition(" ")
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    if "uploads" in query:
        return "initiate"
    if "partNumber" in query:
        return "part"
    if "uploadId" in query:
        return {"POST": "complete", "DELETE": "abort"}.get(method, method)
    if "/" not in parts.path.strip("/"):
        return "list"
    return method
