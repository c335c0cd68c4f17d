"""Writers whose object becomes visible only when complete, and vanishes when aborted.

:class:`AtomicWriter` holds the commit-or-abort life cycle every backend shares: closing commits,
leaving a ``with`` block by an exception aborts, and a writer dropped without either is aborted (the
default of :class:`io.IOBase` would *commit* a half-written object on garbage collection).
:class:`MultipartWriter` adds the remote strategy: one PUT for a small object, a multipart upload in
``part_size`` parts for a large one, completed on close and aborted on error.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Protocol

__all__ = ["AtomicWriter", "MultipartTarget", "MultipartWriter"]

logger = logging.getLogger(__name__)


class AtomicWriter(io.BufferedIOBase):
    """A write-only stream committed by :meth:`close` and discarded by :meth:`abort`.

    Subclasses implement :meth:`_write`, :meth:`_commit` and :meth:`_discard`.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        self.name = url
        self._position = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError(f"write to closed writer of {self.name}")
        view = memoryview(data).cast("B")
        self._write(view)
        self._position += len(view)
        return len(view)

    def close(self) -> None:
        """Commit the object (idempotent); if committing fails, discard it and re-raise."""
        if self.closed:
            return
        try:
            self._commit()
        except BaseException:
            self._discard_quietly()
            raise
        finally:
            super().close()

    def abort(self) -> None:
        """Discard everything written (idempotent); the object does not appear."""
        if self.closed:
            return
        try:
            self._discard()
        finally:
            super().close()

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard_quietly()
            super().close()

    def __del__(self) -> None:
        if not self.closed:
            self._discard_quietly()
            super().close()

    def _discard_quietly(self) -> None:
        try:
            self._discard()
        except Exception as err:  # noqa: BLE001  # the first error matters more; a leftover is logged
            logger.warning("could not discard the partial write of %s: %s", self.name, type(err).__name__)

    def _write(self, data: memoryview) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError


class MultipartTarget(Protocol):
    """The five requests of one remote object's upload; each retried by the backend's guard."""

    def put(self, data: bytearray) -> None:
        """Write the whole object with one request (``data`` is the target's to keep)."""
        ...

    def start(self) -> str:
        """Start a multipart upload; return its id."""
        ...

    def upload_part(self, upload_id: str, number: int, data: bytearray) -> object:
        """Upload part ``number`` (1-based, ``data`` is the target's); return what :meth:`complete` needs."""
        ...

    def complete(self, upload_id: str, parts: list[object], size: int) -> None:
        """Make the object visible from ``parts`` (``size`` bytes in total)."""
        ...

    def abort(self, upload_id: str) -> None:
        """Drop the upload and its parts."""
        ...


class MultipartWriter(AtomicWriter):
    """Buffers up to ``part_size`` bytes; one PUT if the object fits, else a multipart upload.

    Memory stays at about one part, whatever the size of one ``write``. Parts are uploaded as they
    fill, so a failure surfaces at the ``write`` that filled the part.
    """

    def __init__(self, target: MultipartTarget, *, url: str, part_size: int) -> None:
        super().__init__(url)
        self._target = target
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[object] = []

    def _write(self, data: memoryview) -> None:
        offset = 0
        while offset < len(data):
            # A part is sent only once a byte beyond it exists: an object of exactly one part is one PUT.
            take = min(len(data) - offset, self._part_size + 1 - len(self._buffer))
            self._buffer += data[offset : offset + take]
            offset += take
            if len(self._buffer) > self._part_size:  # hand the full buffer over instead of copying it
                part, self._buffer = self._buffer, self._buffer[self._part_size :]
                del part[self._part_size :]
                self._send_part(part)

    def _send_part(self, part: bytearray) -> None:
        if self._upload_id is None:
            self._upload_id = self._target.start()
        self._parts.append(self._target.upload_part(self._upload_id, len(self._parts) + 1, part))

    def _commit(self) -> None:
        if self._upload_id is None:
            self._target.put(self._buffer)
        else:
            if self._buffer:
                self._send_part(self._buffer)
            self._target.complete(self._upload_id, self._parts, self._position)
            self._upload_id = None
        self._buffer = bytearray()

    def _discard(self) -> None:
        self._buffer = bytearray()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            self._target.abort(upload_id)
