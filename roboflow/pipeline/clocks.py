"""A warning for an episode placed by the wrong clock, instead of a silent episode of a handful of frames.

A recording has two clocks per message: its log time (the recorder's or logger's clock; for a Rerun recording its
chosen timeline) and its header stamp (the capture time; for Rerun the first user timestamp timeline). A recording
replayed, converted or logged offline has its messages within a fraction of a second on one of them, and a dataset
placed by that one gets a frame or two from seconds of data. :class:`ClockWatch` follows the span of an episode's
messages on both clocks and says so, naming the config setting of the better clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from roboflow.sources.base import RawMessage

__all__ = ["ClockNames", "ClockWatch", "clock_names"]

NS = 1_000_000_000
#: The other clock is "far" longer: this many times the span of the clock in use, and at least a second.
_FACTOR = 10
_MIN_OTHER_S = 1.0
#: Larger spans are not a clock but garbage stamps (zero stamps mixed with real ones).
_MAX_OTHER_S = 86_400.0
#: "A handful of frames" from a topic with at least this many messages per frame.
_FEW_FRAMES = 5
_MESSAGES_PER_FRAME = 10


@dataclass(frozen=True, slots=True)
class ClockNames:
    """How a config selects each clock of a recording, for warnings.

    Attributes:
        log: The setting placing messages by their log time.
        header: The setting placing them by their header stamps.
        advice: How to pick another clock when neither stamp helps (a Rerun recording's timelines), or None.
    """

    log: str = '[dataset] time = "log"'
    header: str = '[dataset] time = "header"'
    advice: str | None = None


def clock_names(source: Any) -> ClockNames:
    """The clock settings of an open source (a Rerun source names its timelines, others use ``[dataset] time``)."""
    timelines = getattr(source, "timelines", None)
    if timelines is None:
        return ClockNames()
    users = [t.name for t in timelines.values() if t.is_user and t.kind == "timestamp"]
    return ClockNames(log=f'[source] timeline = "{source.clock}"',
                      header=f'[source] timeline = "{users[0]}"' if users else "",
                      advice=str(source.clock_advice))


class _Span:
    def __init__(self) -> None:
        self.first: int | None = None
        self.last: int | None = None

    def add(self, time: int) -> None:
        self.first = time if self.first is None else min(self.first, time)
        self.last = time if self.last is None else max(self.last, time)

    @property
    def seconds(self) -> float:
        return 0.0 if self.first is None or self.last is None else (self.last - self.first) / NS


class ClockWatch:
    """Spans of one episode's messages on both clocks.

    Args:
        names: The recording's clock settings.
        header_clock: Whether the dataset is placed by header stamps (else by log times).
    """

    def __init__(self, names: ClockNames, header_clock: bool) -> None:
        self.names = names
        self.header_clock = header_clock
        self.reset()

    def reset(self) -> None:
        """Start a new episode."""
        self._log, self._header = _Span(), _Span()
        self._counts: Counter[str] = Counter()

    def add(self, raw: RawMessage) -> None:
        self._log.add(raw.log_time)
        if raw.header_stamp is not None:
            self._header.add(raw.header_stamp)
        self._counts[raw.topic] += 1

    def warning(self, frames: int, episode: int) -> str | None:
        """The warning of an episode of ``frames`` frames when its clock looks wrong, else None."""
        used, other = (self._header, self._log) if self.header_clock else (self._log, self._header)
        used_name, other_name = ((self.names.header, self.names.log) if self.header_clock
                                 else (self.names.log, self.names.header))
        topic, count = max(self._counts.items(), key=lambda item: item[1], default=("", 0))
        what = f"episode {episode}: {frames} frame(s) from {count} messages of {topic}"
        if (other_name and _MIN_OTHER_S <= other.seconds <= _MAX_OTHER_S
                and used.seconds * _FACTOR < other.seconds):
            return (f"{what}: they span {used.seconds:.3f} s on the clock in use ({used_name}) but "
                    f"{other.seconds:.3f} s on another; to place them by that one set {other_name}")
        if frames <= _FEW_FRAMES and count >= _MESSAGES_PER_FRAME * max(frames, 1) * 2:
            advice = self.names.advice or "check the clock with `roboflow inspect` and the topics' rates"
            return f"{what} spanning {used.seconds:.3f} s on the clock in use ({used_name}); {advice}"
        return None
