"""A seekable binary stream over a remote object, fetched range by range.

Readers of indexed formats (MCAP summaries, ROS1 bag indexes) seek to the end, read an index, then jump
to the chunks they need. :class:`RangedReader` turns each miss into one ranged GET of an aligned
``range_size`` block and keeps the last few blocks in an LRU, so such readers never fetch a whole object
and memory stays at about ``cache_ranges * range_size``.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["RangedReader"]

#: ``fetch(start, stop)`` returns exactly the bytes ``[start, stop)`` of the object.
Fetch = Callable[[int, int], bytes]


class RangedReader(io.BufferedIOBase):
    """A read-only, seekable stream whose bytes come from ``fetch`` in aligned ranges.

    Not thread-safe, like any file object. ``read(n)`` returns ``n`` bytes unless the end is reached.

    Args:
        fetch: Returns the bytes ``[start, stop)`` of the object (retries are the fetcher's business).
        size: Object size in bytes.
        name: The object URL, for messages.
        range_size: Bytes per fetch.
        cache_ranges: Blocks kept, least recently used dropped first (at least 1).

    Attributes:
        requests: Fetches made so far.
        bytes_fetched: Bytes fetched so far.
    """

    def __init__(self, fetch: Fetch, size: int, *, name: str, range_size: int, cache_ranges: int) -> None:
        super().__init__()
        if range_size <= 0 or cache_ranges <= 0:
            raise ValueError("range_size and cache_ranges must be positive")
        self.name = name
        self.requests = 0
        self.bytes_fetched = 0
        self._fetch = fetch
        self._size = size
        self._range_size = range_size
        self._cache_ranges = cache_ranges
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._position = 0

    @property
    def size(self) -> int:
        """Object size in bytes."""
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def read(self, size: int | None = -1) -> bytes:
        pieces = list(self._pieces(size))
        return bytes(pieces[0]) if len(pieces) == 1 else b"".join(pieces)

    read1 = read

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        for piece in self._pieces(len(view)):
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
        return filled

    readinto1 = readinto

    def close(self) -> None:
        self._blocks.clear()
        super().close()

    def _pieces(self, size: int | None) -> Iterator[memoryview]:
        """Views of the cached blocks covering the next ``size`` bytes (all when negative), advancing."""
        self._check_open()
        stop = self._size if size is None or size < 0 else min(self._size, self._position + size)
        while self._position < stop:
            index = self._position // self._range_size
            block = self._block(index)
            offset = self._position - index * self._range_size
            take = min(len(block) - offset, stop - self._position)
            yield memoryview(block)[offset : offset + take]
            self._position += take

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is not None:
            self._blocks.move_to_end(index)
            return block
        start = index * self._range_size
        block = self._fetch(start, min(self._size, start + self._range_size))
        self.requests += 1
        self.bytes_fetched += len(block)
        self._blocks[index] = block
        while len(self._blocks) > self._cache_ranges:
            self._blocks.popitem(last=False)
        return block

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on closed reader of {self.name}")
