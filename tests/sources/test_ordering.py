"""merge_in_order: log-time order from blocks read in storage order, with bounded buffering."""

from __future__ import annotations

import random

from roboflow.sources.base import Channel, RawMessage
from roboflow.sources.ordering import NO_FLOOR, Block, merge_in_order, select_blocks, suffix_floors

CHANNEL = Channel(1, "/t", "cdr", None)


def _block(times: list[int], tag: int) -> list[RawMessage]:
    return [RawMessage(CHANNEL, t, bytes([tag, i])) for i, t in enumerate(times)]


def test_suffix_floors() -> None:
    assert suffix_floors([5, 3, 9, 4]) == [3, 4, 4, NO_FLOOR]
    assert suffix_floors([]) == []


def test_random_overlapping_blocks_come_out_sorted_and_stable() -> None:
    rng = random.Random(7)
    blocks = [_block([rng.randrange(100) for _ in range(rng.randrange(1, 8))], tag) for tag in range(30)]
    floors = suffix_floors([min(m.log_time for m in block) for block in blocks])
    merged = list(merge_in_order(iter(blocks), floors))
    expected = sorted((m for block in blocks for m in block), key=lambda m: m.log_time)  # sorted() is stable
    assert merged == expected


def test_messages_are_released_as_soon_as_no_later_block_can_precede_them() -> None:
    released: list[int] = []

    def blocks():
        yield _block([10, 11], 0)
        released.append(-1)  # marker: second block requested
        yield _block([20, 21], 1)

    stream = merge_in_order(blocks(), [20, NO_FLOOR])
    assert [next(stream).log_time, next(stream).log_time] == [10, 11]
    assert released == []  # the first block's messages left before the second block was read


def test_select_blocks_by_channel_and_time() -> None:
    blocks = [Block(0, 10, 0, 9, frozenset({1})), Block(10, 10, 10, 19, frozenset({2})), Block(20, 10, 20, 29, None)]
    assert select_blocks(blocks, {2}, None, None) == blocks[1:]
    assert select_blocks(blocks, None, 12, 20) == [blocks[1]]
    assert select_blocks(blocks, None, None, None) == blocks
