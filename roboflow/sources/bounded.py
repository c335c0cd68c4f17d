"""A view of a recording's stream for libraries that trust the length fields they read.

rosbags and the ``mcap`` library read a record's length and then ask for that many bytes; a damaged
length makes the file object allocate up to gigabytes before it finds the file shorter (``MemoryError``
under an address-space limit). Through :class:`BoundedStream` no read goes past the end of the file, so
the library sees a short read and raises its own error, which the source translates into a
:class:`~roboflow.errors.SourceError`.
"""

from __future__ import annotations

import io
from typing import BinaryIO

__all__ = ["BoundedStream"]


class BoundedStream(io.BufferedIOBase):
    """``stream`` (of ``size`` bytes) read no further than its end; closing the view leaves the stream open.

    Args:
        stream: A seekable binary stream, owned by the caller.
        size: Its size in bytes.
    """

    def __init__(self, stream: BinaryIO, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._size = size

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(self._size - self._stream.tell(), 0)
        return self._stream.read(remaining if size is None or size < 0 else min(size, remaining))

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._stream.readline(-1 if size is None else size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Leave the underlying stream open: its owner closes it."""
