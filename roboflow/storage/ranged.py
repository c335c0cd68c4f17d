"""A seekable binary stream over a remote object, fetched range by range.

Readers of indexed formats (MCAP summaries, ROS1 bag indexes) seek to the end, read an index, then jump
to the chunks they need. :class:`RangedReader` turns each miss into one ranged GET of an aligned
``range_size`` block and keeps the last few blocks in an LRU, so such readers never fetch a whole object
and memory stays at about ``(cache_ranges + 1) * range_size``.

When blocks are read in order, the next one is fetched in the background while the current one is
consumed (read-ahead), so a sequential reader overlaps decoding with the network. A jump elsewhere
starts no read-ahead, so index lookups fetch only what they touch.

:meth:`RangedReader.observe` lets a consumer see every block as it is served (e.g. to hash the object
while a format reader goes through it, without a second download).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["RangedReader"]

#: ``fetch(start, stop)`` returns exactly the bytes ``[start, stop)`` of the object; must be thread-safe.
Fetch = Callable[[int, int], bytes]
#: ``observer(start, block)``: a block of the object beginning at byte ``start`` is being served.
Observer = Callable[[int, bytes], None]

#: Shared by every reader of the process: one read-ahead in flight per reader at most.
_READ_AHEAD = ThreadPoolExecutor(max_workers=8, thread_name_prefix="roboflow-read-ahead")


class RangedReader(io.BufferedIOBase):
    """A read-only, seekable stream whose bytes come from ``fetch`` in aligned ranges.

    Not thread-safe, like any file object. ``read(n)`` returns ``n`` bytes unless the end is reached.

    Args:
        fetch: Returns the bytes ``[start, stop)`` of the object (retries are the fetcher's business).
        size: Object size in bytes.
        name: The object URL, for messages.
        range_size: Bytes per fetch.
        cache_ranges: Blocks kept, least recently used dropped first (at least 1).
        read_ahead: Fetch the next block in the background while blocks are read in order.

    Attributes:
        requests: Fetches made so far.
        bytes_fetched: Bytes fetched so far.
    """

    def __init__(
        self,
        fetch: Fetch,
        size: int,
        *,
        name: str,
        range_size: int,
        cache_ranges: int,
        read_ahead: bool = True,
    ) -> None:
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
        self._read_ahead = read_ahead
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._ahead: tuple[int, Future[bytes]] | None = None
        self._last_index = -2
        self._position = 0
        self._observers: list[Observer] = []

    @property
    def size(self) -> int:
        """Object size in bytes."""
        return self._size

    def observe(self, observer: Observer) -> None:
        """Call ``observer(start, block)`` whenever a block is served to a read, cached or fetched.

        Called in the reading thread, before the read returns; every block a read touches is served whole.
        """
        self._observers.append(observer)

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
        self._drop_read_ahead()
        self._blocks.clear()
        self._observers.clear()
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
        else:
            block = self._load(index)
            self._blocks[index] = block
            while len(self._blocks) > self._cache_ranges:
                self._blocks.popitem(last=False)
        sequential, self._last_index = index == self._last_index + 1, index
        following = index + 1
        if (
            self._read_ahead
            and sequential
            and following * self._range_size < self._size
            and following not in self._blocks
            and self._ahead is None
        ):
            self._ahead = (following, _READ_AHEAD.submit(self._fetch, *self._bounds(following)))
        for observer in self._observers:
            observer(index * self._range_size, block)
        return block

    def _load(self, index: int) -> bytes:
        """The block, from the read-ahead if it is the one in flight, else fetched now."""
        if self._ahead is not None and self._ahead[0] == index:
            future = self._ahead[1]
            self._ahead = None
            block = future.result()  # a failed read-ahead raises here, as the fetch would have
        else:
            self._drop_read_ahead()
            block = self._fetch(*self._bounds(index))
        self.requests += 1
        self.bytes_fetched += len(block)
        return block

    def _bounds(self, index: int) -> tuple[int, int]:
        start = index * self._range_size
        return start, min(self._size, start + self._range_size)

    def _drop_read_ahead(self) -> None:
        """Forget a read-ahead nobody will use (a running one finishes in the background)."""
        if self._ahead is not None:
            self._ahead[1].cancel()
            self._ahead = None

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on closed reader of {self.name}")
