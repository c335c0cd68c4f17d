"""What ``roboflow convert`` shows while it runs and when it ends.

:class:`TerminalProgress` redraws a small block on a terminal (one bar per recording in progress and an overall
bar), at most ten times a second; :class:`LogProgress` writes one plain line per event, for logs and pipes.
:func:`summary_table` renders the end-of-run table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from roboflow.pipeline.convert import ShardResult
from roboflow.pipeline.local import Failure, RunReport
from roboflow.pipeline.scan import WorkItem

__all__ = ["LogProgress", "TerminalProgress", "summary_table"]

_BAR = 24
_REDRAW_S = 0.1


def _name(item: WorkItem, width: int = 40) -> str:
    name = Path(item.url).name or item.url
    return name if len(name) <= width else "..." + name[-(width - 3):]


def _bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * _BAR)
    return "#" * filled + "-" * (_BAR - filled)


class LogProgress:
    """One line per started, converted or failed recording."""

    wants_progress = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.finished = 0

    def _line(self, text: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.stream.flush()

    def planned(self, items: list[WorkItem]) -> None:
        self.total = len(items)

    def started(self, item: WorkItem) -> None:
        self._line(f"converting [{item.index + 1}/{self.total}] {item.url}")

    def progress(self, item: WorkItem, done: int, total: int | None) -> None:
        return None

    def converted(self, result: ShardResult) -> None:
        self.finished += 1
        self._line(f"converted  [{result.item.index + 1}/{self.total}] {result.item.url}: "
                   f"{len(result.episodes)} episode(s), {result.frames} frames in {result.seconds:.1f} s")

    def failed(self, failure: Failure) -> None:
        self.finished += 1
        self._line(f"skipped    [{failure.item.index + 1}/{self.total}] {failure.error}")

    def merging(self, shards: int) -> None:
        self._line(f"merging {shards} shard(s)")


class TerminalProgress(LogProgress):
    """A live block: a bar per recording being converted and an overall bar; events print above it."""

    wants_progress = True

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._active: dict[int, tuple[WorkItem, int, int | None]] = {}
        self._drawn = 0
        self._last_draw = 0.0

    def _line(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self._draw(force=True)

    def started(self, item: WorkItem) -> None:
        self._active[item.index] = (item, 0, None)
        self._draw(force=True)

    def progress(self, item: WorkItem, done: int, total: int | None) -> None:
        self._active[item.index] = (item, done, total)
        self._draw()

    def converted(self, result: ShardResult) -> None:
        self._active.pop(result.item.index, None)
        super().converted(result)

    def failed(self, failure: Failure) -> None:
        self._active.pop(failure.item.index, None)
        super().failed(failure)

    def merging(self, shards: int) -> None:
        self._active.clear()
        super().merging(shards)

    def close(self) -> None:
        self._clear()
        self.stream.flush()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < _REDRAW_S:
            return
        self._last_draw = now
        self._clear()
        lines = []
        partial = 0.0
        for item, done, total in self._active.values():
            fraction = done / total if total else 0.0
            partial += fraction
            shown = f"{100 * fraction:3.0f}%" if total else f"{done} msgs"
            lines.append(f"  {_name(item):40s} [{_bar(fraction)}] {shown}")
        overall = (self.finished + partial) / self.total if self.total else 0.0
        lines.append(f"  {'overall':40s} [{_bar(overall)}] {self.finished}/{self.total} recordings")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)


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
