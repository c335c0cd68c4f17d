"""The convert stage: one recording -> one shard (a LeRobot dataset of that recording's episodes).

``convert_recording(item, context)`` streams the recording's mapped topics through the feature plan and the
aligner into a :class:`~roboflow.lerobot.dataset.DatasetWriter`; nothing is held per recording beyond what the
aligner and the writer's ``[flushing]`` bounds allow. The recording may be local or at a storage URL
(:mod:`roboflow.pipeline.recording`); the shard is always local. The shard's ``meta/roboflow.json``
carries the source's URL, size and SHA-256 and the alignment report of every episode; the merge stage
places it in the dataset's provenance. Re-running a unit overwrites its own shard. The stage knows nothing
of processes or retries.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from roboflow.align import AlignmentReport
from roboflow.config.model import Config, TimeSource
from roboflow.config.schema import video_settings
from roboflow.errors import DatasetError, RoboflowError, SourceError
from roboflow.features.plan import FeaturePlan
from roboflow.lerobot.dataset import DatasetWriter
from roboflow.lerobot.merge import PROVENANCE_PATH
from roboflow.lerobot.spec import FlushSettings
from roboflow.media.hardware import resolve_encoder
from roboflow.pipeline.clocks import ClockWatch, clock_names
from roboflow.pipeline.episodes import EpisodeStream
from roboflow.pipeline.recording import open_recording
from roboflow.pipeline.scan import WorkItem
from roboflow.sources import Clock
from roboflow.storage import StorageOptions, open_storage

__all__ = ["ConvertContext", "EpisodeParts", "Progress", "ShardResult", "convert_recording", "stamp_parts"]

#: ``progress(messages_done, messages_total or None, frames_written)``, called every few hundred messages.
Progress = Callable[[int, int | None, int], None]
_PROGRESS_EVERY = 256


@dataclass(frozen=True, slots=True)
class ConvertContext:
    """What every convert unit of a run shares (picklable: sent to worker processes).

    Attributes:
        config: The validated config.
        staging: Directory of the shards (one subdirectory per work item key).
        format: Shard dataset version.
        storage: Options for remote recordings (None: defaults, credentials from the environment).
        strict: Damage inside a recording (a corrupt video packet) fails it instead of leaving a frame out.
    """

    config: Config
    staging: Path
    format: str = "v3.0"
    storage: StorageOptions | None = None
    strict: bool = False


@dataclass(frozen=True, slots=True)
class ShardResult:
    """A converted recording.

    Attributes:
        item: The work item.
        shard: The shard directory (or its storage URL once a fleet worker staged it remotely).
        episodes: Alignment report of each written episode, in order.
        skipped_episodes: Reports of episodes left out (too short), with the reason; with :class:`EpisodeParts`
            only those after the last part (the others are in the ``skipped_before`` of the part after them).
        source: URL, size, SHA-256 and format of the recording.
        frames: Frames written over all episodes.
        seconds: Wall time of the conversion.
        parts: With :class:`EpisodeParts`: the one-episode parts written by this call, in order.
        warnings: One line per episode placed by a clock that looks wrong (see :mod:`roboflow.pipeline.clocks`).
    """

    item: WorkItem
    shard: Path | str
    episodes: tuple[dict[str, Any], ...]
    skipped_episodes: tuple[dict[str, Any], ...] = ()
    source: dict[str, Any] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0
    parts: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EpisodeParts:
    """Write each episode as a one-episode dataset of its own, ``<shard>/part-NNNN`` (NNNN: the episode's position
    in the recording), so that a conversion stopped between episodes can resume at the first unfinished one.

    Attributes:
        resume_at: Episodes (written, or skipped as too short) that an earlier attempt finished: their messages are
            read again but nothing of them is written.
        on_part: Called with each finished part's directory and position, in order, as soon as it is complete
            (a fleet worker stages it and saves a checkpoint naming it).
    """

    resume_at: int = 0
    on_part: Callable[[Path, int], None] | None = None


class _ShardWriter:
    """The episode sink: a dataset writer created on the first frame (the spec needs it)."""

    def __init__(self, shard: Path, plan: FeaturePlan, context: ConvertContext) -> None:
        self.shard = shard
        self.plan = plan
        self.context = context
        self.writer: DatasetWriter | None = None
        self.episodes: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.frames = 0

    def _new_writer(self, out: Path, features: dict[str, np.ndarray]) -> DatasetWriter:
        config = self.context.config
        return DatasetWriter(
            out, self.plan.dataset_spec(features), format=self.context.format,
            video=resolve_encoder(video_settings(config.video)).settings,
            flushing=FlushSettings(config.flushing.max_frames_per_chunk, config.flushing.max_memory_bytes),
            overwrite=True,
        )

    def add(self, features: dict[str, np.ndarray], task: str) -> None:
        if self.writer is None:
            self.writer = self._new_writer(self.shard, features)
        self.writer.add_frame(features, task)
        self.frames += 1

    def end_episode(self, report: AlignmentReport) -> None:
        assert self.writer is not None
        self.writer.save_episode()
        self.episodes.append(_episode_entry(report, self.writer))

    def skip_episode(self, report: AlignmentReport, reason: str) -> None:
        self.skipped.append({**report.to_dict(), "reason": reason})

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
        shutil.rmtree(self.shard, ignore_errors=True)

    def finalize(self, facts: dict[str, Any]) -> None:
        assert self.writer is not None
        self.writer.finalize({"source": facts, "alignment": self.episodes, "skipped_episodes": self.skipped})


class _PartWriter(_ShardWriter):
    """The episode sink of :class:`EpisodeParts`: one dataset per episode; finished parts survive a failure."""

    def __init__(self, shard: Path, plan: FeaturePlan, context: ConvertContext, parts: EpisodeParts,
                 url: str) -> None:
        super().__init__(shard, plan, context)
        self.parts = parts
        self.url = url
        self.position = 0
        self.since = 0  # episodes in self.skipped before this index went into a part's provenance
        self.written: list[Path] = []

    @property
    def _resumed(self) -> bool:
        return self.position < self.parts.resume_at

    def _part(self) -> Path:
        return self.shard / f"part-{self.position:04d}"

    def add(self, features: dict[str, np.ndarray], task: str) -> None:
        if self._resumed:
            return
        if self.writer is None:
            self.writer = self._new_writer(self._part(), features)
        self.writer.add_frame(features, task)
        self.frames += 1

    def end_episode(self, report: AlignmentReport) -> None:
        if not self._resumed:
            assert self.writer is not None
            self.writer.save_episode()
            entry = _episode_entry(report, self.writer)
            self.writer.finalize({"source": {"url": self.url}, "part": self.position, "alignment": [entry],
                                  "skipped_before": self.skipped[self.since:]})
            self.since = len(self.skipped)
            self.writer = None
            self.episodes.append(entry)
            self.written.append(self._part())
            if self.parts.on_part is not None:
                self.parts.on_part(self._part(), self.position)
        self.position += 1

    def skip_episode(self, report: AlignmentReport, reason: str) -> None:
        if not self._resumed:
            super().skip_episode(report, reason)
        self.position += 1

    def abort(self) -> None:
        """Abort the episode being written; finished parts stay (a checkpoint may name them)."""
        if self.writer is not None:
            self.writer.abort()
            shutil.rmtree(self._part(), ignore_errors=True)

    def finalize(self, facts: dict[str, Any]) -> None:
        if not self.written and not self.parts.resume_at:
            raise DatasetError("no episode was written", path=self.url)


def convert_recording(item: WorkItem, context: ConvertContext, progress: Progress | None = None,
                      parts: EpisodeParts | None = None) -> ShardResult:
    """Convert one recording into the shard ``context.staging / item.key`` (with ``parts``: into its parts).

    Raises:
        UserError: The recording cannot be converted (unreadable, a mapped topic missing, no frames, ...);
            the message names the recording.
        InfrastructureError: The environment failed (retrying may help).
    """
    started = time.monotonic()
    shard = context.staging / item.key
    shutil.rmtree(shard, ignore_errors=True)
    sink: _ShardWriter | None = None
    stream: EpisodeStream | None = None
    try:
        clock = Clock(context.config.source.timeline, context.config.source.timeline_rate)
        with open_recording(item.url, context.storage, clock) as (source, hasher):
            plan = FeaturePlan(context.config, source.channels, item.url, strict=context.strict)
            sink = _ShardWriter(shard, plan, context) if parts is None else _PartWriter(
                shard, plan, context, parts, item.url)
            by_header = all(i.time is TimeSource.HEADER for m in context.config.mappings for i in m.inputs)
            stream = EpisodeStream(plan, context.config, sink, ClockWatch(clock_names(source), by_header))
            total = _message_total(source, stream.topics) if progress is not None else None
            done = 0
            for raw in source.messages(topics=stream.topics):
                stream.push(raw)
                done += 1
                if progress is not None and done % _PROGRESS_EVERY == 0:
                    progress(done, total, sink.frames)
            stream.finish()
            if progress is not None:
                progress(done, total, sink.frames)
            facts = {**hasher.result().to_dict(), "format": source.format}
        sink.finalize(facts)
    except RoboflowError as err:
        _cleanup(stream, sink, shard)
        raise _about(err, item.url) from err
    except OSError as err:
        _cleanup(stream, sink, shard)
        raise SourceError(f"cannot read: {err.strerror or err}", path=item.url) from err
    except BaseException:
        _cleanup(stream, sink, shard)
        raise
    return ShardResult(
        item=item, shard=shard, episodes=tuple(sink.episodes),
        skipped_episodes=tuple(sink.skipped[sink.since:] if isinstance(sink, _PartWriter) else sink.skipped),
        source=facts, frames=sink.frames, seconds=time.monotonic() - started,
        parts=tuple(sink.written) if isinstance(sink, _PartWriter) else (), warnings=tuple(stream.warnings),
    )


def _episode_entry(report: AlignmentReport, writer: DatasetWriter) -> dict[str, Any]:
    """The provenance of an episode: its alignment report, and why pass-through cameras were re-encoded."""
    entry = report.to_dict()
    if writer.reencoded:
        entry["reencoded"] = dict(writer.reencoded)
    return entry


def stamp_parts(parts: Sequence[str | Path], source: dict[str, Any],
                trailing: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Complete the provenance of a recording's parts once it was read whole, and return the recording's
    alignment reports and left-out episodes.

    Every part gets the recording's size and SHA-256 and, as ``skipped_episodes``, the episodes left out (too
    short) before it (its ``skipped_before``), the last part also ``trailing``: those after it. The merge joins
    consecutive parts of one recording into one entry, as a shard written in one piece has. Idempotent.
    """
    alignment: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for position, part in enumerate(parts):
        storage = open_storage(str(part))
        with storage.reader(PROVENANCE_PATH) as stream:
            provenance = json.load(stream)
        provenance["source"] = source
        before = list(provenance.get("skipped_before", []))
        provenance["skipped_episodes"] = before + (list(trailing) if position == len(parts) - 1 else [])
        alignment.extend(provenance.get("alignment", []))
        skipped.extend(provenance["skipped_episodes"])
        with storage.writer(PROVENANCE_PATH) as out:
            out.write(json.dumps(provenance, indent=2).encode())
    return alignment, skipped


def _message_total(source: Any, topics: tuple[str, ...]) -> int | None:
    """Messages on ``topics`` according to the recording's index, or None when it cannot say cheaply."""
    try:
        stats = source.statistics()
    except RoboflowError:
        return None
    wanted = {c.id for c in source.channels if c.topic in topics}
    total: int = sum(s.message_count for channel_id, s in stats.items() if channel_id in wanted)
    return total


def _cleanup(stream: EpisodeStream | None, sink: _ShardWriter | None, shard: Path) -> None:
    if stream is not None:
        stream.close()
    if sink is not None:
        sink.abort()  # a part writer keeps its finished parts
    else:
        shutil.rmtree(shard, ignore_errors=True)


def _about(err: RoboflowError, url: str) -> RoboflowError:
    """``err`` naming the recording (a copy of the same class when it names nothing or something else)."""
    if err.path == url:
        return err
    message = f"{err.path}: {err.message}" if err.path else err.message
    return type(err)(message, path=url, hint=err.hint)
