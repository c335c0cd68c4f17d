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


def test_sequential_reads_fetch_the_next_block_ahead() -> None:
    fetch = Recorder(DATA)
    stream = reader(fetch, range_size=1000)
    assert stream.read(1500) == DATA[:1500]  # blocks 0 then 1: in order, so block 2 is requested ahead
    stream.read(600)  # consumes block 2 (from the read-ahead) and starts block 3
    stream.read(1000)
    stream.close()
    assert sorted(fetch.calls)[:4] == [(0, 1000), (1000, 2000), (2000, 3000), (3000, 4000)]
    assert len(fetch.calls) == len(set(fetch.calls))  # nothing fetched twice


def test_jumps_start_no_read_ahead() -> None:
    fetch = Recorder(DATA)
    stream = reader(fetch, range_size=1000)
    for position in (9500, 0, 5000, 2000):  # an index lookup pattern
        stream.seek(position)
        stream.read(10)
    assert fetch.calls == [(9000, 10000), (0, 1000), (5000, 6000), (2000, 3000)]
    plain = Recorder(DATA)
    no_read_ahead = RangedReader(
        plain, len(DATA), name="m", range_size=1000, cache_ranges=1, read_ahead=False
    )
    assert no_read_ahead.read(2500) == DATA[:2500]
    assert plain.calls == [(0, 1000), (1000, 2000), (2000, 3000)]


def test_read_ahead_failure_surfaces_when_its_block_is_read() -> None:
    def flaky(start: int, stop: int) -> bytes:
        if start == 2000:
            raise ConnectionResetError("store went away")
        return DATA[start:stop]

    stream = RangedReader(flaky, len(DATA), name="mem://x", range_size=1000, cache_ranges=2)
    assert stream.read(2000) == DATA[:2000]
    with pytest.raises(ConnectionResetError, match="store went away"):
        stream.read(1)
