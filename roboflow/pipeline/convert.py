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

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from roboflow.align import AlignmentReport
from roboflow.config.model import Config
from roboflow.config.schema import video_settings
from roboflow.errors import RoboflowError, SourceError
from roboflow.features.plan import FeaturePlan
from roboflow.lerobot.dataset import DatasetWriter
from roboflow.lerobot.spec import FlushSettings
from roboflow.pipeline.episodes import EpisodeStream
from roboflow.pipeline.recording import open_recording
from roboflow.pipeline.scan import WorkItem
from roboflow.storage import StorageOptions

__all__ = ["ConvertContext", "Progress", "ShardResult", "convert_recording"]

#: ``progress(messages_done, messages_total or None)``, called every few hundred messages.
Progress = Callable[[int, int | None], None]
_PROGRESS_EVERY = 256


@dataclass(frozen=True, slots=True)
class ConvertContext:
    """What every convert unit of a run shares (picklable: sent to worker processes).

    Attributes:
        config: The validated config.
        staging: Directory of the shards (one subdirectory per work item key).
        format: Shard dataset version.
        storage: Options for remote recordings (None: defaults, credentials from the environment).
    """

    config: Config
    staging: Path
    format: str = "v3.0"
    storage: StorageOptions | None = None


@dataclass(frozen=True, slots=True)
class ShardResult:
    """A converted recording.

    Attributes:
        item: The work item.
        shard: The shard directory (or its storage URL once a fleet worker staged it remotely).
        episodes: Alignment report of each written episode, in order.
        skipped_episodes: Reports of episodes left out (too short), with the reason.
        source: URL, size, SHA-256 and format of the recording.
        frames: Frames written over all episodes.
        seconds: Wall time of the conversion.
    """

    item: WorkItem
    shard: Path | str
    episodes: tuple[dict[str, Any], ...]
    skipped_episodes: tuple[dict[str, Any], ...] = ()
    source: dict[str, Any] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0


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

    def add(self, features: dict[str, np.ndarray], task: str) -> None:
        if self.writer is None:
            config = self.context.config
            self.writer = DatasetWriter(
                self.shard, self.plan.dataset_spec(features), format=self.context.format,
                video=video_settings(config.video),
                flushing=FlushSettings(config.flushing.max_frames_per_chunk, config.flushing.max_memory_bytes),
                overwrite=True,
            )
        self.writer.add_frame(features, task)
        self.frames += 1

    def end_episode(self, report: AlignmentReport) -> None:
        assert self.writer is not None
        self.writer.save_episode()
        self.episodes.append(report.to_dict())

    def skip_episode(self, report: AlignmentReport, reason: str) -> None:
        self.skipped.append({**report.to_dict(), "reason": reason})

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
        shutil.rmtree(self.shard, ignore_errors=True)


def convert_recording(item: WorkItem, context: ConvertContext, progress: Progress | None = None) -> ShardResult:
    """Convert one recording into the shard ``context.staging / item.key``.

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
        with open_recording(item.url, context.storage) as (source, hasher):
            plan = FeaturePlan(context.config, source.channels, item.url)
            sink = _ShardWriter(shard, plan, context)
            stream = EpisodeStream(plan, context.config, sink)
            total = _message_total(source, stream.topics) if progress is not None else None
            done = 0
            for raw in source.messages(topics=stream.topics):
                stream.push(raw)
                done += 1
                if progress is not None and done % _PROGRESS_EVERY == 0:
                    progress(done, total)
            stream.finish()
            if progress is not None:
                progress(done, total)
            facts = {**hasher.result().to_dict(), "format": source.format}
        assert sink.writer is not None
        sink.writer.finalize({"source": facts, "alignment": sink.episodes, "skipped_episodes": sink.skipped})
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
        item=item, shard=shard, episodes=tuple(sink.episodes), skipped_episodes=tuple(sink.skipped),
        source=facts, frames=sink.frames, seconds=time.monotonic() - started,
    )


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
        sink.abort()
    shutil.rmtree(shard, ignore_errors=True)


def _about(err: RoboflowError, url: str) -> RoboflowError:
    """``err`` naming the recording (a copy of the same class when it names nothing or something else)."""
    if err.path == url:
        return err
    message = f"{err.path}: {err.message}" if err.path else err.message
    return type(err)(message, path=url, hint=err.hint)
