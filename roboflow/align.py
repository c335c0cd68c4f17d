"""Resampling of several timestamped streams onto one fixed-rate timeline, streaming.

The timeline starts at the first instant where every required stream has data (the latest of their first
samples) and runs at ``fps`` until the last instant where every required stream has data (the earliest of their
last samples). At each frame time every stream contributes one value chosen by its policy:

* ``hold``: the latest sample at or before the frame time;
* ``nearest``: the sample closest to the frame time, before or after (a tie goes to the earlier one);
* ``interpolate``: linear interpolation between the samples around the frame time (numeric arrays only;
  before the first or after the last sample the nearest one is used);
* ``drop``: like ``nearest``, and the frame is dropped when that sample is farther than the tolerance.

A stream's ``tolerance_ns`` bounds the staleness of the value used (``|frame time - sample time|``; for
``interpolate`` the farther of the two samples): beyond it a frame is dropped when the stream is required and
gets ``None`` for that stream when it is optional. A sample whose value is ``None`` (a message that carries no
value for the stream, e.g. no array element matching a selection) is counted as ``absent`` and otherwise
ignored, as if the message had not been recorded. Dropped frames are not renumbered here; the caller writes the
frames it receives, in order.

Memory: the aligner keeps, per stream, only the samples that may still be used by a frame not yet emitted. A
frame is emitted as soon as every required stream has a sample after it, so normally a stream buffers about one
period of the slowest stream. If a required stream stalls while others keep coming, the buffered bytes would grow;
past ``max_buffer_bytes`` the oldest pending frame is resolved with what is there (counted as ``forced``) so
memory stays bounded. Values are opaque to the aligner (a decoded vector, or an undecoded image message that the
caller decodes only for frames it writes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from roboflow.config.model import Policy
from roboflow.errors import SourceError

__all__ = ["Aligner", "AlignmentReport", "Frame", "StreamReport", "StreamSpec", "frame_time"]

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """How one stream is resampled.

    Attributes:
        name: Label in reports and errors (the topic, or ``topic -> feature``).
        policy: Resampling policy.
        tolerance_ns: Largest allowed staleness, or None for no limit.
        required: Whether the timeline waits for this stream and drops frames where it is out of tolerance.
        header_time: Whether the stream's times are header stamps (not log times).
    """

    name: str
    policy: Policy = Policy.HOLD
    tolerance_ns: int | None = None
    required: bool = True
    header_time: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of the timeline: its index k (before drops), time ``t0 + k/fps`` in ns, one value per stream."""

    index: int
    time: int
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StreamReport:
    """What alignment saw of one stream."""

    name: str
    messages: int
    rate_hz: float | None
    max_staleness_ms: float | None
    mean_staleness_ms: float | None
    dropped_frames: int
    out_of_order: int
    absent: int = 0


@dataclass(frozen=True, slots=True)
class AlignmentReport:
    """Per-episode alignment summary, written into provenance and the summary table."""

    fps: int
    start_ns: int | None
    end_ns: int | None
    frames_written: int
    frames_dropped: int
    frames_forced: int
    streams: tuple[StreamReport, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def frame_time(t0: int, index: int, fps: int) -> int:
    """Time of frame ``index`` in ns, exact to the nanosecond (rounded half up)."""
    return t0 + (2 * index * NS + fps) // (2 * fps)


@dataclass(slots=True)
class _Sample:
    time: int
    value: Any
    size: int


class _Stream:
    """Buffered samples and statistics of one stream."""

    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.samples: deque[_Sample] = deque()
        self.first: int | None = None
        self.last: int | None = None
        self.offset = 0  # log time - sample time of the latest sample (0 for log-timed streams)
        self.count = 0
        self.out_of_order = 0
        self.absent = 0
        self.buffered = 0
        self.dropped = 0
        self.staleness_max = 0
        self.staleness_sum = 0
        self.staleness_n = 0

    def add(self, time: int, log_time: int, value: Any, size: int) -> bool:
        if self.last is not None and time < self.last:
            self.out_of_order += 1
            return False
        if self.first is None:
            self.first = time
        self.last = time
        self.offset = log_time - time
        self.count += 1
        self.samples.append(_Sample(time, value, size))
        self.buffered += size
        return True

    def passed(self, t: int, clock: int) -> bool:
        """Whether no future sample can change this stream's value at time ``t``."""
        if self.last is not None and self.last > t:
            return True
        return not self.spec.required and clock - self.offset > t

    def trim(self, t: int) -> None:
        """Forget samples older than the latest one at or before ``t``."""
        samples = self.samples
        while len(samples) >= 2 and samples[1].time <= t:
            self.buffered -= samples.popleft().size

    def around(self, t: int) -> tuple[_Sample | None, _Sample | None]:
        before = after = None
        for sample in self.samples:
            if sample.time <= t:
                before = sample
            else:
                after = sample
                break
        return before, after

    def note_staleness(self, staleness: int) -> None:
        self.staleness_max = max(self.staleness_max, staleness)
        self.staleness_sum += staleness
        self.staleness_n += 1

    def report(self) -> StreamReport:
        span = (self.last - self.first) / NS if self.first is not None and self.last is not None else 0.0
        rate = round((self.count - 1) / span, 3) if span > 0 else None
        n = self.staleness_n
        return StreamReport(
            name=self.spec.name,
            messages=self.count,
            rate_hz=rate,
            max_staleness_ms=round(self.staleness_max / 1e6, 3) if n else None,
            mean_staleness_ms=round(self.staleness_sum / n / 1e6, 3) if n else None,
            dropped_frames=self.dropped,
            out_of_order=self.out_of_order,
            absent=self.absent,
        )


class Aligner:
    """Streaming resampler; feed samples with :meth:`push`, end with :meth:`finish`.

    Args:
        streams: One spec per stream; samples are pushed by stream index.
        fps: Frame rate of the timeline.
        max_buffer_bytes: Bound on the bytes of buffered samples (sizes as given to :meth:`push`).
    """

    def __init__(self, streams: Sequence[StreamSpec], fps: int, max_buffer_bytes: int = 512 * 1024**2) -> None:
        if not any(s.required for s in streams):
            raise ValueError("at least one stream must be required")
        self.fps = fps
        self.max_buffer_bytes = max_buffer_bytes
        self._streams = [_Stream(s) for s in streams]
        self._required = [s for s in self._streams if s.spec.required]
        self._t0: int | None = None
        self._next = 0
        self._clock = -(2**63)
        self._written = 0
        self._dropped = 0
        self._forced = 0
        self._end: int | None = None

    @property
    def start(self) -> int | None:
        """Time of frame 0 in ns, once every required stream has data."""
        return self._t0

    def push(self, stream: int, time: int, log_time: int, value: Any, size: int = 0) -> list[Frame]:
        """Add one sample (``value`` None: the message has no value for this stream); returns the frames that
        became final (possibly none)."""
        self._clock = max(self._clock, log_time)
        state = self._streams[stream]
        if value is None:
            state.absent += 1
            return []
        if not state.add(time, log_time, value, size):
            return []
        if self._t0 is None and not self._start():
            return []
        frames = self._emit(final=False)
        while self._buffered() > self.max_buffer_bytes and any(len(s.samples) > 1 for s in self._streams):
            frame = self._resolve(frame_time(self._t0 or 0, self._next, self.fps))
            self._forced += 1
            if frame is not None:
                frames.append(frame)
        return frames

    def finish(self) -> list[Frame]:
        """End of input: emit the frames up to the last instant where every required stream has data."""
        if self._t0 is None:
            return []
        self._end = min(s.last for s in self._required if s.last is not None)
        return self._emit(final=True)

    def missing(self) -> list[str]:
        """Names of required streams that have had no sample yet."""
        return [s.spec.name for s in self._required if s.first is None]

    def report(self) -> AlignmentReport:
        return AlignmentReport(
            fps=self.fps,
            start_ns=self._t0,
            end_ns=self._end,
            frames_written=self._written,
            frames_dropped=self._dropped,
            frames_forced=self._forced,
            streams=tuple(s.report() for s in self._streams),
        )

    def _buffered(self) -> int:
        return sum(s.buffered for s in self._streams)

    def _start(self) -> bool:
        """Fix t0 once every required stream has data; until then keep only what t0 may need."""
        firsts = [s.first for s in self._required if s.first is not None]
        if len(firsts) == len(self._required):
            self._t0 = max(firsts)
            return True
        bound = max(firsts, default=None)
        if any(s.first is None and not s.spec.header_time for s in self._required):
            bound = self._clock if bound is None else max(bound, self._clock)
        if bound is not None:
            for s in self._streams:
                s.trim(bound)
        if self._buffered() > self.max_buffer_bytes:
            raise SourceError(
                f"no message on {', '.join(self.missing())} while {self._buffered() // 1024**2} MiB of other "
                "streams were buffered waiting for it",
                hint="check the topic, or use time = \"log\" if its header stamps are from another clock",
            )
        return False

    def _emit(self, *, final: bool) -> list[Frame]:
        assert self._t0 is not None
        frames: list[Frame] = []
        while True:
            t = frame_time(self._t0, self._next, self.fps)
            if final:
                assert self._end is not None
                if t > self._end:
                    return frames
            elif not all(s.passed(t, self._clock) for s in self._streams):
                return frames
            frame = self._resolve(t)
            if frame is not None:
                frames.append(frame)

    def _resolve(self, t: int) -> Frame | None:
        """Decide frame ``self._next`` at time ``t`` with the samples there are, then advance."""
        values: list[Any] = []
        culprit: _Stream | None = None
        stale: list[tuple[_Stream, int]] = []
        for s in self._streams:
            value, staleness = _select(s, t)
            tolerance = s.spec.tolerance_ns
            if staleness is None or (tolerance is not None and staleness > tolerance):
                if s.spec.required and culprit is None:
                    culprit = s
                values.append(None)
            else:
                stale.append((s, staleness))
                values.append(value)
        index = self._next
        self._next += 1
        for s in self._streams:
            s.trim(t)
        if culprit is not None:
            culprit.dropped += 1
            self._dropped += 1
            return None
        for s, staleness in stale:
            s.note_staleness(staleness)
        self._written += 1
        return Frame(index=index, time=t, values=tuple(values))


def _select(stream: _Stream, t: int) -> tuple[Any, int | None]:
    """The value of ``stream`` at ``t`` under its policy, and its staleness (None: no value)."""
    before, after = stream.around(t)
    policy = stream.spec.policy
    if policy is Policy.HOLD:
        return (before.value, t - before.time) if before else (None, None)
    if before is None and after is None:
        return None, None
    if before is None or after is None:
        only = before or after
        assert only is not None
        return only.value, abs(t - only.time)
    if policy is Policy.INTERPOLATE and before.time < t and _numeric(before.value, after.value):
        weight = (t - before.time) / (after.time - before.time)
        low = before.value.astype(np.float64)
        mixed = low + (after.value.astype(np.float64) - low) * weight
        return mixed.astype(before.value.dtype), max(t - before.time, after.time - t)
    if policy is Policy.INTERPOLATE:
        return before.value, t - before.time
    if after.time - t < t - before.time:
        return after.value, after.time - t
    return before.value, t - before.time


def _numeric(a: Any, b: Any) -> bool:
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and np.issubdtype(a.dtype, np.floating)
    )
