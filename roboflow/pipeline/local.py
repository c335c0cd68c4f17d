"""The local executor (``roboflow convert``): scan, convert units (in this process or a pool), merge, publish.

The run is recorded like a fleet batch (:mod:`roboflow.pipeline.runstate`), in a SQLite file inside its staging
area (``ROBOFLOW_STATE_URL`` names another store): re-running the same command after a kill reuses the
recordings that were converted (``reused`` in the progress), resumes a recording at its first unfinished
episode, and converts only the rest; a changed config or input is converted again, with one line saying why.
A unit that fails with an error of its recording is recorded and skipped (``strict`` stops the run at the
first one); the merge then writes the dataset from the shards that were made, in recording order, and the
staging is removed. A problem of the environment (disk full, permission refused, a storage circuit breaker
open) stops the run at once with a :class:`~roboflow.errors.ResourceError`, publishes nothing and keeps the
staging for the re-run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from roboflow.config.model import Config
from roboflow.coordination.records import BatchPhase, UnitState, WorkUnit
from roboflow.errors import InfrastructureError, RoboflowError, UserError
from roboflow.lerobot.layout import INFO_PATH
from roboflow.lerobot.merge import PROVENANCE_PATH, MergeResult
from roboflow.pipeline.convert import ConvertContext, ShardResult
from roboflow.pipeline.environment import environment_problem, free_bytes, gigabytes
from roboflow.pipeline.merge import MergeContext, check_output, incompatible_shards, is_remote, merge_shards
from roboflow.pipeline.runstate import LocalRun, Planned, plan_units
from roboflow.pipeline.scan import WorkItem, scan
from roboflow.pipeline.schedule import Failure, run_units
from roboflow.pipeline.staging import output_url, run_id, staging_base, stale_staging, tree_bytes
from roboflow.provenance import run_provenance
from roboflow.storage import StorageOptions, open_storage

__all__ = ["EXIT_OK", "EXIT_PARTIAL", "Failure", "RunEvents", "RunOptions", "RunReport", "run_local"]

log = logging.getLogger(__name__)

EXIT_OK = 0
#: The dataset was written, but some recordings were skipped.
EXIT_PARTIAL = 4
#: Output bytes per input byte assumed before a shard was measured (recordings of compressed images make
#: datasets about their size; raw images shrink).
_DEFAULT_RATIO = 1.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of ``roboflow convert``.

    Attributes:
        jobs: Recordings converted in parallel (worker processes).
        format: Dataset version (None: the config's).
        overwrite: Replace an existing output.
        strict: Stop (and write nothing) at the first recording that fails.
        storage: Options for remote inputs and output (None: defaults, credentials from the environment).
        restart: Discard what an earlier, interrupted run of this output staged instead of resuming it.
    """

    jobs: int = 1
    format: str | None = None
    overwrite: bool = False
    strict: bool = False
    storage: StorageOptions | None = None
    restart: bool = False


@dataclass(slots=True)
class RunReport:
    """What a run did, for the summary table and the exit status."""

    items: list[WorkItem]
    results: list[ShardResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    merged: MergeResult | None = None
    seconds: float = 0.0
    merge_seconds: float = 0.0
    reused: int = 0
    #: Estimated bytes the rest of the run writes (named in the error when the disk fills).
    needed_bytes: int = 0

    @property
    def exit_status(self) -> int:
        return EXIT_PARTIAL if self.failures else EXIT_OK


class RunEvents(Protocol):
    """What the executor tells its user interface.

    ``wants_progress``: whether :meth:`progress` is wanted (counting a recording's messages may cost a pass over
    recordings without an index).
    """

    wants_progress: bool

    def planned(self, items: list[WorkItem]) -> None: ...

    def notice(self, text: str) -> None: ...

    def reused(self, result: ShardResult) -> None: ...

    def started(self, item: WorkItem) -> None: ...

    def progress(self, item: WorkItem, done: int, total: int | None, frames: int) -> None: ...

    def converted(self, result: ShardResult) -> None: ...

    def failed(self, failure: Failure) -> None: ...

    def merging(self, shards: int) -> None: ...


class _Quiet:
    wants_progress = False

    def planned(self, items: list[WorkItem]) -> None: ...

    def notice(self, text: str) -> None:
        log.warning("%s", text)

    def reused(self, result: ShardResult) -> None: ...

    def started(self, item: WorkItem) -> None: ...

    def progress(self, item: WorkItem, done: int, total: int | None, frames: int) -> None: ...

    def converted(self, result: ShardResult) -> None: ...

    def failed(self, failure: Failure) -> None: ...

    def merging(self, shards: int) -> None: ...


def run_local(inputs: Sequence[str], config: Config, out: str | Path, options: RunOptions,
              events: RunEvents | None = None) -> RunReport:
    """Convert the recordings named by ``inputs`` (paths, storage URLs, globs) into the dataset ``out``.

    ``out`` is a local directory or a storage URL.

    Raises:
        UserError: Nothing to convert, the output exists (without ``overwrite``), every recording failed, or
            one failed under ``strict`` (no dataset is written then).
        ResourceError: The environment stopped the run (disk full, permission refused, store unavailable);
            what was staged is kept and the same command resumes.
        InfrastructureError: The environment failed in another way that stopped the run.
    """
    events = events or _Quiet()
    started = time.monotonic()
    fmt = options.format or config.dataset.format
    items = scan(inputs, options.storage)
    planned = plan_units(items, options.storage)
    published = _published_by_earlier_run(out, options.storage)
    if published:
        options = replace(options, overwrite=True)  # the run's own dataset: replaced by the same one, if merged again
    else:
        check_output(out, overwrite=options.overwrite, options=options.storage)
    report = RunReport(items=[p.item for p in planned])
    url = output_url(out)
    root = staging_base(url) / run_id(url)
    with _environment_stops(report, [root] if is_remote(out) else [root, Path(url).parent]):
        run = LocalRun.open(out, config, fmt, planned, restart=options.restart, published=published)
        try:
            if published and run.phase() in (BatchPhase.MERGING, BatchPhase.COMPLETE):
                _finish_published(run, planned, out, options, events, report)
            else:
                _run(run, planned, config, fmt, out, options, events, report)
        except UserError:
            run.discard()  # the run ended (nothing written, or a recording failed under --strict)
            raise
        finally:
            run.close()
    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _environment_stops(report: RunReport, writes: list[Path]) -> Iterator[None]:
    """Turn an environment problem where the run writes (disk full, permission refused, ...) into one
    :class:`~roboflow.errors.ResourceError`, wherever it surfaced."""
    try:
        yield
    except (OSError, InfrastructureError) as err:
        problem = environment_problem(err, writes)
        if problem is None:
            raise
        raise problem.error(report.needed_bytes) from err


def _run(run: LocalRun, planned: list[Planned], config: Config, fmt: str, out: str | Path, options: RunOptions,
         events: RunEvents, report: RunReport) -> None:
    for notice in run.notices:
        events.notice(notice)
    for line in stale_staging(run.spec.output_url, options.storage):
        events.notice(line)
    events.planned(report.items)
    units = run.units()
    todo = []
    for p in planned:
        unit = units[p.unit_id]
        if unit.state is UnitState.COMPLETE:
            result = _reused(p.item, unit, run.root)
            report.results.append(result)
            report.reused += 1
            events.reused(result)
        elif unit.state is UnitState.PENDING:
            todo.append(p)
        else:  # failed in a run whose merge was under way: skipped there too
            _fail(report, events, Failure(p.item, unit.error or unit.state.value), options)
    report.needed_bytes = _space_needed(run, todo, out, events)

    def record(outcome: ShardResult | Failure) -> None:
        if isinstance(outcome, Failure) and outcome.problem is not None:
            raise outcome.problem.error(report.needed_bytes)
        if isinstance(outcome, Failure):
            log.debug("%s failed:\n%s", outcome.item.url, outcome.details)
            _fail(report, events, outcome, options)
        else:
            report.results.append(outcome)
            events.converted(outcome)

    context = ConvertContext(config=config, staging=run.root, format=fmt, storage=options.storage,
                             strict=options.strict)
    run_units(run, todo, context, options.jobs, events, record)
    report.results.sort(key=lambda r: r.item.index)
    parts = [ShardResult(item=WorkItem(i, r.item.url, r.item.key), shard=part, episodes=())
             for i, (r, part) in enumerate((r, part) for r in report.results for part in r.parts)]
    left_out = set()
    for part, reason in incompatible_shards(parts):
        if part.item.url not in left_out:
            left_out.add(part.item.url)
            result = next(r for r in report.results if r.item.url == part.item.url)
            report.results.remove(result)
            _fail(report, events, Failure(result.item, reason), options)
    if not report.results:
        raise UserError(f"no recording could be converted ({len(report.failures)} failed)",
                        hint="see the errors above")
    events.merging(len(report.results))
    merge_started = time.monotonic()
    if run.phase() is not BatchPhase.MERGING:
        run.merging()
    skipped = [{"source": f.item.url, "error": f.error} for f in report.failures]
    provenance = {**run_provenance(config, format=fmt, converted=len(report.results), skipped=skipped),
                  "batch_id": run.batch_id}
    shards = [p for p in parts if p.item.url not in left_out]
    report.needed_bytes = 0 if is_remote(out) else tree_bytes(run.root)
    report.merged = merge_shards(shards, out, MergeContext(fmt, options.overwrite, provenance, options.storage))
    report.merge_seconds = time.monotonic() - merge_started
    run.finish(f"{len(report.results)} recordings converted, {len(report.failures)} skipped")


def _finish_published(run: LocalRun, planned: list[Planned], out: str | Path, options: RunOptions,
                      events: RunEvents, report: RunReport) -> None:
    """The killed run had published ``out``: report its recordings as reused, and clean up."""
    events.planned(report.items)
    units = run.units()
    for p in planned:
        unit = units.get(p.unit_id)
        if unit is not None and unit.state is UnitState.COMPLETE:
            report.results.append(_reused(p.item, unit, run.root))
            events.reused(report.results[-1])
        elif unit is not None:
            report.failures.append(Failure(p.item, unit.error or unit.state.value))
    with open_storage(output_url(out), options.storage).reader(INFO_PATH) as stream:
        report.merged = MergeResult(json.load(stream), ())
    run.finish("published by an earlier run")


def _reused(item: WorkItem, unit: WorkUnit, root: Path) -> ShardResult:
    result = unit.result or {}
    return ShardResult(item=item, shard=root / unit.unit_id, episodes=tuple(result.get("alignment", [])),
                       skipped_episodes=tuple(result.get("skipped", [])), source=dict(result.get("source", {})),
                       frames=int(result.get("frames", 0)), seconds=float(result.get("seconds", 0.0)),
                       parts=tuple(Path(p) for p in result.get("shards", [])))


def _published_by_earlier_run(out: str | Path, storage: StorageOptions | None) -> bool:
    """Whether ``out`` is the complete dataset of a run of this output killed after publishing it (before it
    removed its staging): its provenance names the run and ``meta/info.json``, written last, is there."""
    url = output_url(out)
    if not (staging_base(url) / run_id(url)).is_dir():
        return False
    try:
        target = open_storage(url, storage)
        with target.reader(PROVENANCE_PATH) as stream:
            provenance = json.load(stream)
        return isinstance(provenance, dict) and provenance.get("batch_id") == run_id(url) and target.exists(INFO_PATH)
    except (RoboflowError, OSError, ValueError):
        return False


def _space_needed(run: LocalRun, todo: Sequence[Planned], out: str | Path, events: RunEvents) -> int:
    """Bytes the rest of the run will write (warned about when the staging file system has less free).

    The shards to make are estimated from the inputs' sizes and the output/input ratio of the shards already
    staged (or :data:`_DEFAULT_RATIO`); a local output is assembled beside them, so it counts again.
    """
    staged = tree_bytes(run.root)
    done_inputs = sum(u.size_bytes for u in run.units().values() if u.state is UnitState.COMPLETE)
    ratio = staged / done_inputs if done_inputs and staged else _DEFAULT_RATIO
    shards = int(sum(p.size for p in todo) * ratio)
    needed = shards + (0 if is_remote(out) else staged + shards)
    free = free_bytes(run.root)
    if needed > free:
        events.notice(f"warning: this run needs about {gigabytes(needed)} GB, {run.root.parent} has "
                      f"{gigabytes(free)} GB free")
    return needed


class _StrictStop(UserError):
    """A recording failed under ``strict``."""


def _fail(report: RunReport, events: RunEvents, failure: Failure, options: RunOptions) -> None:
    report.failures.append(failure)
    events.failed(failure)
    if options.strict:
        raise _StrictStop(f"{failure.error}", hint="--strict stops at the first recording that fails")
