"""A warning for an episode placed by the wrong clock, instead of a silent episode of a handful of frames.

A recording has two clocks per message: its log time (the recorder's or logger's clock; for a Rerun recording its
chosen timeline) and its header stamp (the capture time; for Rerun the first user timestamp timeline). A recording
replayed, converted or logged offline has its messages within a fraction of a second on one of them, and a dataset
placed by that one gets a frame or two from seconds of data. :class:`ClockWatch` follows the span of an episode's
busiest topic on both clocks (one topic, so that a latched message with an old stamp does not count) and says so,
naming the config setting of the better clock.
"""

from __future__ import annotations

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
    return ClockNames(log=f'[source] timeline = "{source.clock}"' if source.clock else "",
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


class _Topic:
    """Message count and spans of one topic on the log and header clocks."""

    def __init__(self) -> None:
        self.count = 0
        self.log, self.header = _Span(), _Span()


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
        self._topics: dict[str, _Topic] = {}

    def add(self, raw: RawMessage) -> None:
        topic = self._topics.get(raw.topic)
        if topic is None:
            topic = self._topics[raw.topic] = _Topic()
        topic.count += 1
        topic.log.add(raw.log_time)
        if raw.header_stamp is not None:
            topic.header.add(raw.header_stamp)

    def warning(self, frames: int, episode: int) -> str | None:
        """The warning of an episode of ``frames`` frames when its clock looks wrong, else None."""
        if not self._topics:
            return None
        used_name, other_name = ((self.names.header, self.names.log) if self.header_clock
                                 else (self.names.log, self.names.header))
        stamped = {name: topic for name, topic in self._topics.items() if topic.header.first is not None}
        if stamped and other_name:
            name, busiest = _busiest(stamped)
            used, other = self._spans(busiest)
            if _MIN_OTHER_S <= other.seconds <= _MAX_OTHER_S and used.seconds * _FACTOR < other.seconds:
                return (f"{_what(episode, frames, name, busiest)}: they span {used.seconds:.3f} s on the clock in use "
                        f"({used_name}) but {other.seconds:.3f} s on another; to place them by that one set "
                        f"{other_name}")
        name, busiest = _busiest(self._topics)
        if frames <= _FEW_FRAMES and busiest.count >= _MESSAGES_PER_FRAME * max(frames, 1) * 2:
            advice = self.names.advice or "check the clock with `roboflow inspect` and the topics' rates"
            return (f"{_what(episode, frames, name, busiest)} spanning {self._spans(busiest)[0].seconds:.3f} s on the "
                    f"clock in use ({used_name}); {advice}")
        return None

    def _spans(self, topic: _Topic) -> tuple[_Span, _Span]:
        """(span on the clock in use, span on the other) of a topic."""
        return (topic.header, topic.log) if self.header_clock else (topic.log, topic.header)


def _busiest(topics: dict[str, _Topic]) -> tuple[str, _Topic]:
    return max(topics.items(), key=lambda item: item[1].count)


def _what(episode: int, frames: int, name: str, topic: _Topic) -> str:
    return f"episode {episode}: {frames} frame(s) from {topic.count} messages of {name}"
