"""The timelines of a Rerun recording, and which one is its clock.

Rerun stamps every row on each timeline it was logged on: the SDK's own ``log_time`` (the logging process's
wall clock) and the user's, set with ``rec.set_time("time", timestamp=...)`` (a timestamp or duration timeline,
nanoseconds) or ``rec.set_time("frame_index", sequence=...)`` (a sequence of integers). A recording logged
offline — converted, replayed, generated — has all its ``log_time`` stamps within a fraction of a second, so the
clock that places rows on the dataset timeline is the data's own:

1. the timeline the config names (``[source] timeline``; a sequence needs ``timeline_rate``, steps per second);
2. else the one user sequence timeline when only ``timeline_rate`` is given;
3. else the one user timestamp/duration timeline; with several the config must name one (the error lists them);
4. else ``log_time`` (the data was logged live, or only on sequence timelines, which need a rate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from roboflow.errors import SourceError

__all__ = ["LOG_TIME", "Clock", "Timeline", "choose_clock", "describe_timelines"]

#: Rerun's logging clock; ``log_tick`` is its sequence twin.
LOG_TIME = "log_time"
_SDK_TIMELINES = frozenset({LOG_TIME, "log_tick"})


@dataclass(frozen=True, slots=True)
class Clock:
    """The config's choice of clock (``[source] timeline``, ``timeline_rate``); both None: the default rules."""

    timeline: str | None = None
    rate: float | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """One timeline of a recording.

    Attributes:
        name: As logged, e.g. ``time``, ``frame_index``, ``log_time``.
        kind: ``timestamp``, ``duration`` (both in ns) or ``sequence`` (integers).
        start: Smallest value over the rows with data.
        end: Largest value.
        rows: Rows with data on this timeline.
    """

    name: str
    kind: str
    start: int
    end: int
    rows: int

    @property
    def is_user(self) -> bool:
        return self.name not in _SDK_TIMELINES


def describe_timelines(timelines: Mapping[str, Timeline]) -> str:
    """``time (timestamp), frame_index (sequence), log_time (timestamp)`` for messages."""
    return ", ".join(f"{t.name} ({t.kind})" for t in timelines.values())


def choose_clock(timelines: Mapping[str, Timeline], clock: Clock | None, path: str) -> tuple[str | None, float]:
    """The timeline that places rows, and the nanoseconds of one of its units (1 for time, 1e9/rate for steps).

    Args:
        timelines: The recording's timelines by name.
        clock: The config's choice; None (``inspect``) picks the first user timestamp timeline where several fit.
        path: The recording, for errors.

    Raises:
        SourceError: The named timeline is absent, a sequence has no rate, or several timestamp timelines fit
            and the config names none.
    """
    listed = describe_timelines(timelines) or "none"
    wanted = clock or Clock()
    if wanted.timeline is not None:
        found = timelines.get(wanted.timeline)
        if found is None:
            raise SourceError(f"[source] timeline {wanted.timeline!r} is not in this recording", path=path,
                              hint=f"its timelines: {listed}")
        return found.name, _unit(found, wanted.rate, path)
    users = [t for t in timelines.values() if t.is_user]
    if wanted.rate is not None:
        sequences = [t for t in users if t.kind == "sequence"]
        if len(sequences) != 1:
            raise SourceError(f"timeline_rate is set but the recording has {len(sequences)} sequence timelines",
                              path=path, hint=f'name one with [source] timeline = "..." (its timelines: {listed})')
        return sequences[0].name, _unit(sequences[0], wanted.rate, path)
    times = [t for t in users if t.kind != "sequence"]
    if len(times) > 1 and clock is not None:
        raise SourceError(f"the recording has {len(times)} timestamp timelines ({', '.join(t.name for t in times)}) "
                          "and the config does not say which one places the data", path=path,
                          hint=f'set [source] timeline = "{times[0].name}" (or another of: {listed})')
    if times:
        return times[0].name, 1.0
    if LOG_TIME in timelines:
        return LOG_TIME, 1.0
    stamped = [t for t in timelines.values() if t.kind != "sequence"]
    return (stamped[0].name, 1.0) if stamped else (None, 1.0)


def _unit(timeline: Timeline, rate: float | None, path: str) -> float:
    if timeline.kind != "sequence":
        return 1.0
    if rate is None:
        raise SourceError(f"timeline {timeline.name!r} is a sequence (steps {timeline.start}..{timeline.end}), "
                          "not a time", path=path, hint="set [source] timeline_rate = steps per second, e.g. 30")
    return 1e9 / rate
