"""Log-time order for messages read in storage order.

Recordings store messages in blocks (MCAP chunks, ROS1 chunks, Rerun chunks) whose log-time ranges
may overlap or come out of order. Given the lower bound of every block's log times (from an index,
or from a first pass over the file), blocks are read once, in storage order, and each message is
released as soon as no later block can hold an earlier one. Memory is bounded by how far the
storage order strays from log-time order, not by the size of the recording.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from roboflow.sources.base import RawMessage

__all__ = ["NO_FLOOR", "Block", "merge_in_order", "select_blocks", "suffix_floors"]

#: Larger than any log time: nothing follows the last block.
NO_FLOOR = 2**64


@dataclass(frozen=True, slots=True)
class Block:
    """A byte range of a recording holding messages, read as one unit.

    Attributes:
        offset: Byte offset of the block's first record.
        length: Length in bytes.
        start: Lower bound of the block's log times (ns).
        end: Upper bound of the block's log times (ns).
        channel_ids: Channels with messages in the block; None when unknown (read it to find out).
        compressed: Whether the block is a (possibly compressed) chunk record rather than bare records.
    """

    offset: int
    length: int
    start: int
    end: int
    channel_ids: frozenset[int] | None
    compressed: bool = True


def select_blocks(
    blocks: Iterable[Block], channel_ids: Collection[int] | None, start: int | None, stop: int | None
) -> list[Block]:
    """The blocks that may hold messages of ``channel_ids`` (all when None) in ``[start, stop)``."""
    chosen = []
    for block in blocks:
        if start is not None and block.end < start:
            continue
        if stop is not None and block.start >= stop:
            continue
        if channel_ids is not None and block.channel_ids is not None and block.channel_ids.isdisjoint(channel_ids):
            continue
        chosen.append(block)
    return chosen


def suffix_floors(starts: Sequence[int]) -> list[int]:
    """For each block, the smallest log time any *later* block can hold.

    Args:
        starts: Lower bound of each block's log times, in the order the blocks will be read.
    """
    floors = [NO_FLOOR] * len(starts)
    lowest = NO_FLOOR
    for index in range(len(starts) - 1, 0, -1):
        lowest = min(lowest, starts[index])
        floors[index - 1] = lowest
    return floors


def merge_in_order(blocks: Iterable[list[RawMessage]], floors: Sequence[int]) -> Iterator[RawMessage]:
    """Yield the messages of ``blocks`` in log-time order (stable: storage order breaks ties).

    Args:
        blocks: The messages of each block, blocks in storage order.
        floors: ``floors[i]`` is a lower bound of the log times in blocks ``i+1, i+2, ...``.
    """
    heap: list[tuple[int, int, RawMessage]] = []
    sequence = 0
    for index, block in enumerate(blocks):
        floor = floors[index]
        if not heap and _sorted_below(block, floor):
            yield from block  # the common case: in-order blocks skip the heap entirely
            continue
        for message in block:
            heapq.heappush(heap, (message.log_time, sequence, message))
            sequence += 1
        while heap and heap[0][0] <= floor:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


def _sorted_below(block: list[RawMessage], floor: int) -> bool:
    previous = -1
    for message in block:
        if message.log_time < previous:
            return False
        previous = message.log_time
    return previous <= floor
