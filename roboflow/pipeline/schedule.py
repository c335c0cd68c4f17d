"""How ``roboflow convert`` runs its units: in this process (``-j 1``) or in a pool of worker processes.

Either way a unit is claimed in the run's state (:class:`~roboflow.pipeline.runstate.LocalRun`) before it
starts, converted one part per episode (resuming after the parts its checkpoint names), checkpointed as each
part is finished, and completed, failed or given back in the state: the same transitions a fleet worker makes
(:mod:`roboflow.fleet.worker`). Worker processes only convert; every state transition happens here, so a
worker reports its finished parts through the progress queue.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from roboflow.coordination import WorkerSession
from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError
from roboflow.coordination.units import Claim
from roboflow.errors import InfrastructureError, RoboflowError
from roboflow.pipeline.convert import (
    ConvertContext,
    EpisodeParts,
    ShardResult,
    convert_recording,
    stamp_parts,
)
from roboflow.pipeline.environment import EnvironmentProblem, environment_problem
from roboflow.pipeline.merge import shard_info
from roboflow.pipeline.runstate import LocalRun, Planned
from roboflow.pipeline.scan import WorkItem

__all__ = ["Failure", "UnitEvents", "run_units"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A recording that could not be converted (strings only, so it crosses processes intact).

    ``problem``: set when the environment, not the recording, failed (the run stops).
    """

    item: WorkItem
    error: str
    infrastructure: bool = False
    details: str = ""
    problem: EnvironmentProblem | None = None


class UnitEvents(Protocol):
    """What the scheduler reports (a subset of :class:`roboflow.pipeline.local.RunEvents`)."""

    wants_progress: bool

    def started(self, item: WorkItem) -> None: ...

    def progress(self, item: WorkItem, done: int, total: int | None, frames: int) -> None: ...


#: Receives each unit's outcome once its state is recorded; may raise to stop the run.
Record = Callable[[ShardResult | Failure], None]


@dataclass(slots=True)
class _Job:
    planned: Planned
    slot: int
    session: WorkerSession
    claim: Claim
    parts: list[str] = field(default_factory=list)
    frames: int = 0
    resumed_at: int = 0


def run_units(run: LocalRun, todo: Sequence[Planned], context: ConvertContext, jobs: int, events: UnitEvents,
              record: Record) -> None:
    """Convert ``todo`` (units Pending in ``run``) with ``jobs`` processes, passing each outcome to ``record``.

    When ``record`` raises, units still converting are stopped and given back with their checkpoints.
    """
    scheduler = _Scheduler(run, context, events, record)
    if jobs <= 1 or len(todo) <= 1:
        scheduler.inline(todo)
    else:
        scheduler.pool(todo, jobs)


class _Scheduler:
    def __init__(self, run: LocalRun, context: ConvertContext, events: UnitEvents, record: Record) -> None:
        self.run = run
        self.context = context
        self.events = events
        self.record = record
        self.jobs: dict[int, _Job] = {}  # by item index

    # ---- state ----
    def claim(self, planned: Planned, slot: int) -> tuple[_Job, WorkItem, int]:
        session, claim = self.run.claim(slot, planned.unit_id)
        data = claim.checkpoint.data
        job = _Job(planned, slot, session, claim, list(data.get("parts", [])), int(data.get("frames", 0)))
        job.resumed_at = len(job.parts)
        self.jobs[planned.item.index] = job
        item = WorkItem(planned.item.index, planned.item.url, self.run.attempt_dir(claim))
        return job, item, int(data.get("next", 0))

    def part_done(self, index: int, part: str, position: int) -> None:
        """A worker finished a part: name it in the unit's checkpoint (a late report of a finished unit is moot)."""
        job = self.jobs.get(index)
        if job is None or part in job.parts:
            return
        job.frames += int(shard_info(part)["total_frames"])
        job.parts.append(part)
        try:
            self.run.checkpoint(job.session, job.claim, {"parts": job.parts, "next": position + 1,
                                                         "frames": job.frames})
        except (LeaseLostError, IllegalTransitionError):
            return

    def finish(self, index: int, outcome: ShardResult | Failure) -> None:
        job = self.jobs.pop(index)
        if isinstance(outcome, Failure):
            # an environment problem gives the unit back (a re-run resumes it); a recording's problem fails it
            self.run.fail(job.session, job.claim, outcome.error, retryable=outcome.problem is not None)
            self.record(outcome)
            return
        earlier = job.parts[: job.resumed_at]
        parts = earlier + [str(p) for p in outcome.parts]
        frames = sum(int(shard_info(p)["total_frames"]) for p in parts)
        alignment, skipped = stamp_parts(parts, outcome.source, outcome.skipped_episodes)
        self.run.complete(job.session, job.claim, {
            "shards": parts, "frames": frames, "episodes": len(parts), "alignment": alignment, "skipped": skipped,
            "source": outcome.source, "seconds": round(outcome.seconds, 3), "resumed_at": len(earlier)})
        self.record(ShardResult(item=job.planned.item, shard=self.run.root / job.planned.unit_id,
                                episodes=tuple(alignment), skipped_episodes=tuple(skipped), source=outcome.source,
                                frames=frames, seconds=outcome.seconds, parts=tuple(Path(p) for p in parts)))

    def give_back(self) -> None:
        """Units still held when the run stops go back to Pending with their checkpoints."""
        for job in self.jobs.values():
            try:
                self.run.fail(job.session, job.claim, "the run stopped", retryable=True)
            except (LeaseLostError, IllegalTransitionError, RoboflowError):
                continue
        self.jobs.clear()

    # ---- running ----
    def inline(self, todo: Sequence[Planned]) -> None:
        try:
            for planned in todo:
                _, item, resume_at = self.claim(planned, 0)
                self.events.started(planned.item)
                progress = None
                if self.events.wants_progress:
                    def progress(done: int, total: int | None, frames: int, item: WorkItem = planned.item) -> None:
                        self.events.progress(item, done, total, frames)

                def part(path: Path, position: int, index: int = item.index) -> None:
                    self.part_done(index, str(path), position)

                self.finish(item.index, convert_unit(item, self.context, progress, EpisodeParts(resume_at, part)))
        finally:
            self.give_back()

    def pool(self, todo: Sequence[Planned], jobs: int) -> None:
        mp = multiprocessing.get_context("forkserver")
        mp.set_forkserver_preload(["roboflow.pipeline.convert"])
        progress_queue = mp.Queue()
        items = {p.item.index: p.item for p in todo}
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp, initializer=_init_worker,
                                   initargs=(progress_queue, dict(os.environ)))
        waiting = list(reversed(todo))
        free = list(range(jobs))
        running: dict[Future[ShardResult | Failure], tuple[int, int]] = {}
        try:
            while waiting or running:
                while waiting and free:
                    planned = waiting.pop()
                    slot = free.pop()
                    _, item, resume_at = self.claim(planned, slot)
                    future = pool.submit(_convert_in_worker, item, self.context, self.events.wants_progress,
                                         resume_at)
                    running[future] = (item.index, slot)
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                self._drain(progress_queue, items)
                for future in done:
                    index, slot = running.pop(future)
                    free.append(slot)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool as err:
                        raise InfrastructureError(
                            "a worker process died (killed, or out of memory)",
                            hint="lower -j or [flushing] max_memory_bytes, then run again: it resumes") from err
                    self.finish(index, outcome)
            self._drain(progress_queue, items)
        finally:
            if running:  # stopping early: do not wait for conversions nobody will use
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.kill()
            pool.shutdown(wait=True, cancel_futures=True)
            self.give_back()

    def _drain(self, progress_queue: Any, items: dict[int, WorkItem]) -> None:
        while True:
            try:
                kind, index, *values = progress_queue.get_nowait()
            except queue.Empty:
                return
            if kind == "started":
                self.events.started(items[index])
            elif kind == "part":
                self.part_done(index, *values)
            else:
                self.events.progress(items[index], *values)


def convert_unit(item: WorkItem, context: ConvertContext, progress: Any,
                 parts: EpisodeParts) -> ShardResult | Failure:
    """Run one unit; errors become a :class:`Failure`."""
    try:
        return convert_recording(item, context, progress, parts)
    except Exception as err:  # noqa: BLE001 - a bug or library error: report it, convert the rest
        problem = environment_problem(err, [context.staging])
        details = traceback.format_exc()
        if isinstance(err, RoboflowError):
            text = str(err) if err.path else f"{item.url}: {err}"
            return Failure(item, text, isinstance(err, InfrastructureError), details, problem)
        return Failure(item, f"{item.url}: unexpected {type(err).__name__}: {err}", False, details, problem)


_progress_queue: Any = None


def _init_worker(progress_queue: Any, environment: dict[str, str]) -> None:
    """Set up a worker process: the progress queue, and the run's environment (storage endpoints and keys come
    from it; a forkserver keeps the environment it was started with, which may be an earlier one)."""
    global _progress_queue
    _progress_queue = progress_queue
    os.environ.clear()
    os.environ.update(environment)


def _convert_in_worker(item: WorkItem, context: ConvertContext, with_progress: bool,
                       resume_at: int) -> ShardResult | Failure:
    _progress_queue.put(("started", item.index))

    def progress(done: int, total: int | None, frames: int) -> None:
        _progress_queue.put(("progress", item.index, done, total, frames))

    def part(path: Path, position: int) -> None:
        _progress_queue.put(("part", item.index, str(path), position))

    return convert_unit(item, context, progress if with_progress else None, EpisodeParts(resume_at, part))

