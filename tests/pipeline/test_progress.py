"""The plain progress lines: reused recordings, frames/s per recording, the time left overall."""

from __future__ import annotations

import io
import re

from roboflow.pipeline import ShardResult, WorkItem
from roboflow.pipeline.progress import LogProgress, TerminalProgress


def _result(index: int, frames: int, seconds: float) -> ShardResult:
    return ShardResult(item=WorkItem(index, f"/data/r{index}.mcap", f"k{index}"), shard=f"/s/{index}",
                       episodes=({"frames_dropped": 0},), frames=frames, seconds=seconds)


def test_log_lines_show_reused_rates_and_time_left() -> None:
    stream = io.StringIO()
    events = LogProgress(stream)
    items = [WorkItem(i, f"/data/r{i}.mcap", f"k{i}") for i in range(4)]
    events.planned(items)
    events.reused(_result(0, 100, 1.0))
    events.started(items[1])
    events.converted(_result(1, 300, 2.0))
    lines = stream.getvalue().splitlines()
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)
    assert lines[0].endswith("reused     [1/4] /data/r0.mcap: 1 episode(s), 100 frames staged by an interrupted run")
    assert re.search(r"converted  \[2/4\] /data/r1.mcap: 1 episode\(s\), 300 frames in 2.0 s \(150 frames/s\), "
                     r"about 0:\d\d left$", lines[2])


def test_terminal_progress_prints_events_above_its_bars() -> None:
    stream = io.StringIO()
    events = TerminalProgress(stream)
    items = [WorkItem(i, f"/data/r{i}.mcap", f"k{i}") for i in range(2)]
    events.planned(items)
    events.started(items[0])
    events.progress(items[0], 50, 100, 30)
    events.converted(_result(0, 60, 1.0))
    events.notice("a warning in one line")
    events.close()
    events.close()
    text = stream.getvalue()
    assert "converted  [1/2] /data/r0.mcap: 1 episode(s), 60 frames in 1.0 s (60 frames/s)" in text
    assert "a warning in one line" in text
