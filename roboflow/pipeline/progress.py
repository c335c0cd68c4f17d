"""What ``roboflow convert`` shows while it runs and when it ends.

:class:`TerminalProgress` keeps a live block on a terminal (rich): a bar per recording being converted and an
overall bar, each with frames/s and the time left; events print above it. :class:`LogProgress` writes one plain
timestamped line per event, for logs and pipes, with the rate of each recording and the time left overall.
Recordings reused from an interrupted run count as done. :func:`summary_table` renders the end-of-run table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from roboflow.pipeline.convert import ShardResult
from roboflow.pipeline.local import Failure, RunReport
from roboflow.pipeline.scan import WorkItem

__all__ = ["LogProgress", "TerminalProgress", "summary_table"]


def _name(item: WorkItem, width: int = 40) -> str:
    name = Path(item.url).name or item.url
    return name if len(name) <= width else "..." + name[-(width - 3):]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


class LogProgress:
    """One line per started, converted, reused or failed recording."""

    wants_progress = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.finished = 0
        self.converted_here = 0  # recordings converted by this run (not reused): what the time left is based on
        self.frames = 0
        self.begun = time.monotonic()

    def _line(self, text: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.stream.flush()

    def _left(self) -> str:
        if not self.converted_here or self.finished >= self.total:
            return ""
        per_recording = (time.monotonic() - self.begun) / self.converted_here
        return f", about {_clock(per_recording * (self.total - self.finished))} left"

    def planned(self, items: list[WorkItem]) -> None:
        self.total = len(items)
        self.begun = time.monotonic()

    def notice(self, text: str) -> None:
        self._line(text)

    def reused(self, result: ShardResult) -> None:
        self.finished += 1
        self._line(f"reused     [{result.item.index + 1}/{self.total}] {result.item.url}: "
                   f"{len(result.episodes)} episode(s), {result.frames} frames staged by an interrupted run")

    def started(self, item: WorkItem) -> None:
        self._line(f"converting [{item.index + 1}/{self.total}] {item.url}")

    def progress(self, item: WorkItem, done: int, total: int | None, frames: int) -> None:
        return None

    def converted(self, result: ShardResult) -> None:
        self.finished += 1
        self.converted_here += 1
        self.frames += result.frames
        rate = result.frames / result.seconds if result.seconds else 0.0
        self._line(f"converted  [{result.item.index + 1}/{self.total}] {result.item.url}: "
                   f"{len(result.episodes)} episode(s), {result.frames} frames in {result.seconds:.1f} s "
                   f"({rate:.0f} frames/s){self._left()}")
        for warning in result.warnings:
            self._line(f"roboflow: warning: {result.item.url}: {warning}")

    def failed(self, failure: Failure) -> None:
        self.finished += 1
        self._line(f"skipped    [{failure.item.index + 1}/{self.total}] {failure.error}")

    def merging(self, shards: int) -> None:
        self._line(f"merging {shards} shard(s)")


class TerminalProgress(LogProgress):
    """A live block (rich): a bar per recording being converted and an overall bar; events print above it."""

    wants_progress = True

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._bars = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), TaskProgressColumn(),
                              TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                              console=Console(file=stream), transient=True, refresh_per_second=10)
        self._overall = self._bars.add_task(f"{'overall':40s}", total=None, rate="")
        self._tasks: dict[int, tuple[TaskID, float, float, int]] = {}  # index -> (task, start, fraction, frames)
        self._bars.start()

    def _line(self, text: str) -> None:
        self._bars.console.print(f"{time.strftime('%H:%M:%S')} {text}", markup=False, highlight=False,
                                 soft_wrap=True)

    def planned(self, items: list[WorkItem]) -> None:
        super().planned(items)
        self._bars.update(self._overall, total=max(self.total, 1), completed=0)

    def started(self, item: WorkItem) -> None:
        task = self._bars.add_task(f"  {_name(item):38s}", total=None, rate="")
        self._tasks[item.index] = (task, time.monotonic(), 0.0, 0)
        super().started(item)

    def progress(self, item: WorkItem, done: int, total: int | None, frames: int) -> None:
        if item.index not in self._tasks:
            return
        task, start, _, _ = self._tasks[item.index]
        elapsed = time.monotonic() - start
        rate = f"{frames / elapsed:5.0f} frames/s" if elapsed > 0 else ""
        self._bars.update(task, completed=done, total=total, rate=rate)
        self._tasks[item.index] = (task, start, done / total if total else 0.0, frames)
        self._update_overall()

    def _update_overall(self) -> None:
        partial = sum(fraction for _, _, fraction, _ in self._tasks.values())
        frames = self.frames + sum(f for _, _, _, f in self._tasks.values())
        elapsed = time.monotonic() - self.begun
        rate = f"{frames / elapsed:5.0f} frames/s" if elapsed > 0 and frames else ""
        self._bars.update(self._overall, completed=self.finished + partial, rate=rate)

    def _done(self, index: int) -> None:
        entry = self._tasks.pop(index, None)
        if entry is not None:
            self._bars.remove_task(entry[0])
        self._update_overall()

    def reused(self, result: ShardResult) -> None:
        super().reused(result)
        self._update_overall()

    def converted(self, result: ShardResult) -> None:
        super().converted(result)
        self._done(result.item.index)

    def failed(self, failure: Failure) -> None:
        super().failed(failure)
        self._done(failure.item.index)

    def merging(self, shards: int) -> None:
        for index in list(self._tasks):
            self._done(index)
        super().merging(shards)

    def close(self) -> None:
        """Idempotent."""
        self._bars.stop()


def summary_table(report: RunReport, out: str | Path) -> str:
    """The end-of-run table: one row per recording, then totals and where the dataset is."""
    rows: list[tuple[str, ...]] = [("#", "recording", "episodes", "frames", "dropped", "seconds", "status")]
    by_index: dict[int, tuple[str, ...]] = {}
    for result in report.results:
        dropped = sum(e["frames_dropped"] for e in result.episodes)
        skipped = f", {len(result.skipped_episodes)} short episode(s) left out" if result.skipped_episodes else ""
        absent = sum(stream.get("absent", 0) for e in result.episodes for stream in e.get("streams", ()))
        unmatched = f", {absent} messages without the selected array element" if absent else ""
        by_index[result.item.index] = (str(len(result.episodes)), str(result.frames), str(dropped),
                                       f"{result.seconds:.1f}", "ok" + skipped + unmatched)
    for failure in report.failures:
        message = failure.error.removeprefix(f"{failure.item.url}: ")
        by_index[failure.item.index] = ("-", "-", "-", "-", f"skipped: {message}")
    for item in report.items:
        cells = by_index.get(item.index, ("-", "-", "-", "-", "not run"))
        rows.append((str(item.index + 1), _name(item), *cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in rows]
    frames = sum(r.frames for r in report.results)
    episodes = sum(len(r.episodes) for r in report.results)
    if report.merged is not None:
        text.append(f"\nwrote {out}: {episodes} episodes, {frames} frames from {len(report.results)} of "
                    f"{len(report.items)} recordings in {report.seconds:.1f} s (merge {report.merge_seconds:.1f} s)")
    return "\n".join(text)
