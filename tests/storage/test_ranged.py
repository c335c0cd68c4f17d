"""The ranged reader on its own: block alignment, LRU, file-object behaviour."""

from __future__ import annotations

import io

import pytest

from roboflow.storage.ranged import RangedReader

DATA = bytes(range(256)) * 40  # 10240 bytes


class Recorder:
    """A fetch over bytes in memory that records the ranges asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, stop: int) -> bytes:
        self.calls.append((start, stop))
        return self.data[start:stop]


def reader(fetch: Recorder, range_size: int = 1000, cache_ranges: int = 2) -> RangedReader:
    return RangedReader(
        fetch, len(fetch.data), name="mem://x", range_size=range_size, cache_ranges=cache_ranges
    )


def test_fetches_aligned_blocks_and_caches_them() -> None:
    fetch = Recorder(DATA)
    stream = reader(fetch)
    stream.seek(-10, io.SEEK_END)
    assert stream.read() == DATA[-10:]
    assert fetch.calls == [(10000, 10240)]
    stream.seek(10100)
    assert stream.read(5) == DATA[10100:10105]
    assert fetch.calls == [(10000, 10240)]
    assert (stream.requests, stream.bytes_fetched) == (1, 240)


def test_least_recently_used_block_is_dropped() -> None:
    fetch = Recorder(DATA)
    stream = reader(fetch, cache_ranges=2)
    for position in (0, 5000, 0, 9000, 0, 5000):
        stream.seek(position)
        stream.read(1)
    assert fetch.calls == [(0, 1000), (5000, 6000), (9000, 10000), (5000, 6000)]


def test_reads_across_blocks_are_complete() -> None:
    stream = reader(Recorder(DATA), range_size=333)
    stream.seek(100)
    assert stream.read(5000) == DATA[100:5100]
    assert stream.tell() == 5100
    assert stream.read() == DATA[5100:]
    assert stream.read() == b""


def test_works_under_standard_wrappers() -> None:
    stream = reader(Recorder(DATA), range_size=100)
    buffered = io.BufferedReader(stream, buffer_size=64)  # type: ignore[arg-type]
    assert buffered.read(300) == DATA[:300]
    assert buffered.peek(1)[:1] == DATA[300:301]
    text = io.TextIOWrapper(reader(Recorder(b"line one\nline two\n"), range_size=4), encoding="utf-8")
    assert text.readlines() == ["line one\n", "line two\n"]


def test_seek_errors_and_closed_reader() -> None:
    stream = reader(Recorder(DATA))
    with pytest.raises(ValueError, match="negative seek"):
        stream.seek(-1)
    with pytest.raises(ValueError, match="invalid whence"):
        stream.seek(0, 7)
    stream.close()
    stream.close()  # idempotent
    with pytest.raises(ValueError, match="closed reader of mem://x"):
        stream.read(1)
