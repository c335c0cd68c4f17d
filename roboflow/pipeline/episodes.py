"""Messages of one recording -> aligned frames, cut into episodes by the ``[episodes]`` rules.

One :class:`~roboflow.align.Aligner` runs per episode. An episode ends at the end of the recording, before a
message of the marker topic (``split = "topic"``), or before a message that comes more than ``gap_s`` after the
previous one (``split = "gap"``, log times). The task in force (``task_topic``) carries into the next episode.
Episodes with fewer than ``min_frames`` frames are skipped: their
first frames are held back (undecoded) until there are ``min_frames`` of them, so nothing of a skipped episode
is ever written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from roboflow.align import Aligner, AlignmentReport, Frame
from roboflow.config.model import Config
from roboflow.errors import SourceError
from roboflow.features.plan import FeaturePlan, Sample
from roboflow.sources.base import RawMessage

__all__ = ["DECODE_AHEAD", "EpisodeSink", "EpisodeStream"]

#: Frames whose images may be decoding ahead of the writer (one decode thread per camera; simplejpeg and
#: PyAV release the GIL, so decoding overlaps reading and aligning).
DECODE_AHEAD = 8


class EpisodeSink(Protocol):
    """Where the frames of episodes go (the shard writer)."""

    def add(self, features: dict[str, np.ndarray], task: str) -> None: ...

    def end_episode(self, report: AlignmentReport) -> None: ...

    def skip_episode(self, report: AlignmentReport, reason: str) -> None: ...


class EpisodeStream:
    """Feed it a recording's messages in log-time order with :meth:`push`, then call :meth:`finish`.

    Args:
        plan: The recording's feature plan.
        config: The config (dataset fps, default task, episode rules, flushing bound).
        sink: Receives frames and episode ends.
    """

    def __init__(self, plan: FeaturePlan, config: Config, sink: EpisodeSink) -> None:
        self.plan = plan
        self.config = config
        self.sink = sink
        rules = config.episodes
        self._marker = rules.topic if rules.split == "topic" else None
        self._gap_ns = round(rules.gap_s * 1e9) if rules.split == "gap" else None
        self._min_frames = rules.min_frames
        self._last_log: int | None = None
        self._held: list[Frame] = []
        self._written = 0
        self._episodes = 0
        self._task: Sample | None = None
        self._pending: deque[tuple[dict[str, Any], str]] = deque()
        self._pools: dict[int, ThreadPoolExecutor] = {}
        #: Per stream: the first and last sample time and log time of the whole recording, for "no frames".
        self._ranges: dict[int, tuple[int, int, int, int]] = {}
        self._aligner = self._new_aligner()

    @property
    def topics(self) -> tuple[str, ...]:
        """Topics to read: the plan's and the marker topic."""
        return self.plan.topics + ((self._marker,) if self._marker and self._marker not in self.plan.topics else ())

    def push(self, raw: RawMessage) -> None:
        gap = self._gap_ns is not None and self._last_log is not None and raw.log_time - self._last_log > self._gap_ns
        if raw.topic == self._marker or gap:
            self._cut()
        self._last_log = raw.log_time
        for sample in self.plan.samples(raw):
            if sample[0] == self.plan.task_stream:
                self._task = sample
            if sample[3] is not None:
                self._note_range(sample[0], sample[1], sample[2])
            for frame in self._aligner.push(*sample):
                self._frame(frame)

    def finish(self) -> int:
        """End the last episode; returns the number of episodes written.

        Raises:
            SourceError: No episode has a frame (a mapping has no data, or the streams never overlap).
        """
        missing = self._aligner.missing()
        self._cut()
        self.close()
        if self._episodes == 0:
            if missing:
                notes = self.plan.absent_notes()
                shown = ", ".join(f"{name} ({notes[name]})" if name in notes else name for name in missing)
                raise SourceError(f"no frames: no message on {shown}")
            if any(spec.header_time for spec in self.plan.streams):
                raise SourceError(f"no frames: the mapped streams never have data at the same time; {self._spans()}",
                                  hint="header stamps of different clocks do not overlap: use time = \"log\" for "
                                       "the streams whose header clock differs")
            raise SourceError("no frames: the mapped streams never have data at the same time",
                              hint="check the topics' time ranges with `roboflow inspect`")
        return self._episodes

    def _note_range(self, stream: int, time: int, log_time: int) -> None:
        known = self._ranges.get(stream)
        self._ranges[stream] = (time, time, log_time, log_time) if known is None else (
            min(known[0], time), max(known[1], time), min(known[2], log_time), max(known[3], log_time))

    def _spans(self) -> str:
        """Each stream's time range, e.g. ``/a -> x: header 360.714..360.982 s (log 0.000..0.168 s)``."""
        parts = []
        for index, spec in enumerate(self.plan.streams):
            span = self._ranges.get(index)
            if span is None:
                continue
            first, last, log_first, log_last = (value / 1e9 for value in span)
            if spec.header_time:
                parts.append(f"{spec.name}: header {first:.3f}..{last:.3f} s (log {log_first:.3f}..{log_last:.3f} s)")
            else:
                parts.append(f"{spec.name}: log {first:.3f}..{last:.3f} s")
        return ", ".join(parts)

    def _new_aligner(self) -> Aligner:
        return Aligner(self.plan.streams, self.config.dataset.fps,
                       max_buffer_bytes=self.config.flushing.max_memory_bytes // 4)

    def _frame(self, frame: Frame) -> None:
        if self._written == 0 and len(self._held) + 1 < self._min_frames:
            self._held.append(frame)
            return
        for held in (*self._held, frame):
            self._write(held)
        self._held.clear()

    def _write(self, frame: Frame) -> None:
        features, task = self.plan.frame(frame, self._submit)
        self._pending.append((features, task if task is not None else self.config.dataset.default_task))
        self._written += 1
        while self._pending and (len(self._pending) > DECODE_AHEAD or _ready(self._pending[0][0])):
            self._deliver()

    def _submit(self, stream: int, work: Callable[[], np.ndarray]) -> Future[np.ndarray]:
        pool = self._pools.get(stream)
        if pool is None:
            pool = self._pools[stream] = ThreadPoolExecutor(1, thread_name_prefix=f"decode-{stream}")
        return pool.submit(work)

    def _deliver(self) -> None:
        features, task = self._pending.popleft()
        self.sink.add({key: v.result() if isinstance(v, Future) else v for key, v in features.items()}, task)

    def close(self) -> None:
        """Stop the decode threads (idempotent; frames not yet delivered are dropped)."""
        self._pending.clear()
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools.clear()

    def _cut(self) -> None:
        for frame in self._aligner.finish():
            self._frame(frame)
        while self._pending:
            self._deliver()
        report = self._aligner.report()
        if self._written:
            self.sink.end_episode(report)
            self._episodes += 1
        elif report.frames_written:
            self.sink.skip_episode(report, f"{report.frames_written} frames, fewer than min_frames")
        self._held.clear()
        self._written = 0
        self._aligner = self._new_aligner()
        if self._task is not None:  # the task in force carries into the next episode
            self._aligner.push(*self._task)


def _ready(features: dict[str, Any]) -> bool:
    return all(v.done() for v in features.values() if isinstance(v, Future))
