"""The local executor (``roboflow convert``): scan, convert units in a process pool, merge. No broker, no state.

With ``jobs == 1`` units run in this process; otherwise in ``jobs`` worker processes (forkserver), which report
progress through a queue. A unit that fails with an error is recorded and skipped (``strict`` stops the run at
the first one); the merge then writes the dataset from the shards that were made, in recording order.

Inputs and the output may be storage URLs (``s3://``, ``oss://``). Shards are always staged locally: next to a
local output (``.<name>.staging-<id>``), in ``TMPDIR`` for a remote one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from roboflow.config.model import Config
from roboflow.errors import InfrastructureError, RoboflowError, UserError
from roboflow.lerobot.merge import MergeResult
from roboflow.pipeline.convert import ConvertContext, ShardResult, convert_recording
from roboflow.pipeline.merge import MergeContext, check_output, incompatible_shards, is_remote, merge_shards
from roboflow.pipeline.scan import WorkItem, scan
from roboflow.provenance import run_provenance
from roboflow.storage import StorageOptions, parse_url

__all__ = ["EXIT_OK", "EXIT_PARTIAL", "Failure", "RunEvents", "RunOptions", "RunReport", "run_local"]

log = logging.getLogger(__name__)

EXIT_OK = 0
#: The dataset was written, but some recordings were skipped.
EXIT_PARTIAL = 4


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of ``roboflow convert``.

    Attributes:
        jobs: Recordings converted in parallel (worker processes).
        format: Dataset version (None: the config's).
        overwrite: Replace an existing output.
        strict: Stop (and write nothing) at the first recording that fails.
        storage: Options for remote inputs and output (None: defaults, credentials from the environment).
    """

    jobs: int = 1
    format: str | None = None
    overwrite: bool = False
    strict: bool = False
    storage: StorageOptions | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """A recording that could not be converted."""

    item: WorkItem
    error: str
    infrastructure: bool = False
    details: str = ""


@dataclass(slots=True)
class RunReport:
    """What a run did, for the summary table and the exit status."""

    items: list[WorkItem]
    results: list[ShardResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    merged: MergeResult | None = None
    seconds: float = 0.0
    merge_seconds: float = 0.0

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

    def started(self, item: WorkItem) -> None: ...

    def progress(self, item: WorkItem, done: int, total: int | None) -> None: ...

    def converted(self, result: ShardResult) -> None: ...

    def failed(self, failure: Failure) -> None: ...

    def merging(self, shards: int) -> None: ...


class _Quiet:
    wants_progress = False

    def planned(self, items: list[WorkItem]) -> None: ...

    def started(self, item: WorkItem) -> None: ...

    def progress(self, item: WorkItem, done: int, total: int | None) -> None: ...

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
        InfrastructureError: The environment failed in a way that stopped the run.
    """
    events = events or _Quiet()
    started = time.monotonic()
    fmt = options.format or config.dataset.format
    check_output(out, overwrite=options.overwrite, options=options.storage)
    items = scan(inputs, options.storage)
    events.planned(items)
    report = RunReport(items=items)
    staging = _staging(out)
    context = ConvertContext(config=config, staging=staging, format=fmt, storage=options.storage,
                             strict=options.strict)
    try:
        runner = _run_inline if options.jobs <= 1 or len(items) == 1 else _run_pool
        runner(items, context, options, events, report)
        report.results.sort(key=lambda r: r.item.index)
        for result, reason in incompatible_shards(report.results):
            _fail(report, events, Failure(result.item, reason), options)
            report.results.remove(result)
        if not report.results:
            raise UserError(f"no recording could be converted ({len(report.failures)} failed)",
                            hint="see the errors above")
        events.merging(len(report.results))
        merge_started = time.monotonic()
        skipped = [{"source": f.item.url, "error": f.error} for f in report.failures]
        provenance = run_provenance(config, format=fmt, converted=len(report.results), skipped=skipped)
        report.merged = merge_shards(report.results, out,
                                     MergeContext(fmt, options.overwrite, provenance, options.storage))
        report.merge_seconds = time.monotonic() - merge_started
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def _staging(out: str | Path) -> Path:
    """A new directory for the shards: beside a local output (same file system), in ``TMPDIR`` for a remote."""
    if is_remote(out):
        return Path(tempfile.mkdtemp(prefix="roboflow-staging-"))
    local = Path(parse_url(str(out)).path)
    staging = local.parent / f".{local.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    return staging


class _StrictStop(UserError):
    """A recording failed under ``strict``."""


def _fail(report: RunReport, events: RunEvents, failure: Failure, options: RunOptions) -> None:
    report.failures.append(failure)
    events.failed(failure)
    if options.strict:
        raise _StrictStop(f"{failure.error}", hint="--strict stops at the first recording that fails")


def _convert(item: WorkItem, context: ConvertContext, progress: Any = None) -> ShardResult | Failure:
    """Run one unit; errors become a :class:`Failure` (strings only, so they cross processes intact)."""
    try:
        return convert_recording(item, context, progress)
    except RoboflowError as err:
        text = str(err) if err.path else f"{item.url}: {err}"
        return Failure(item, text, isinstance(err, InfrastructureError), traceback.format_exc())
    except Exception as err:  # noqa: BLE001 - a bug or library error: report it, convert the rest
        return Failure(item, f"{item.url}: unexpected {type(err).__name__}: {err}", False, traceback.format_exc())


def _record(outcome: ShardResult | Failure, report: RunReport, events: RunEvents, options: RunOptions) -> None:
    if isinstance(outcome, Failure):
        log.debug("%s failed:\n%s", outcome.item.url, outcome.details)
        _fail(report, events, outcome, options)
    else:
        report.results.append(outcome)
        events.converted(outcome)


def _run_inline(items: list[WorkItem], context: ConvertContext, options: RunOptions, events: RunEvents,
                report: RunReport) -> None:
    for item in items:
        events.started(item)
        progress = (lambda done, total, item=item: events.progress(item, done, total)) if events.wants_progress else None
        _record(_convert(item, context, progress), report, events, options)


_progress_queue: Any = None


def _init_worker(progress_queue: Any, environment: dict[str, str]) -> None:
    """Set up a worker process: the progress queue, and the run's environment (storage endpoints and keys come
    from it; a forkserver keeps the environment it was started with, which may be an earlier one)."""
    global _progress_queue
    _progress_queue = progress_queue
    os.environ.clear()
    os.environ.update(environment)


def _convert_in_worker(item: WorkItem, context: ConvertContext, with_progress: bool) -> ShardResult | Failure:
    _progress_queue.put(("started", item.index, 0, None))

    def progress(done: int, total: int | None) -> None:
        _progress_queue.put(("progress", item.index, done, total))

    return _convert(item, context, progress if with_progress else None)


def _run_pool(items: list[WorkItem], context: ConvertContext, options: RunOptions, events: RunEvents,
              report: RunReport) -> None:
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["roboflow.pipeline.convert"])
    progress_queue = mp.Queue()
    by_index = {item.index: item for item in items}
    pool = ProcessPoolExecutor(max_workers=options.jobs, mp_context=mp, initializer=_init_worker,
                               initargs=(progress_queue, dict(os.environ)))
    try:
        pending: set[Future[ShardResult | Failure]] = {
            pool.submit(_convert_in_worker, item, context, events.wants_progress) for item in items
        }
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress_queue, by_index, events)
            for future in done:
                try:
                    outcome = future.result()
                except BrokenProcessPool as err:
                    raise InfrastructureError(
                        "a worker process died (killed, or out of memory)",
                        hint="lower -j or [flushing] max_memory_bytes, then run again") from err
                _record(outcome, report, events, options)
        _drain(progress_queue, by_index, events)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _drain(progress_queue: Any, by_index: dict[int, WorkItem], events: RunEvents) -> None:
    while True:
        try:
            kind, index, done, total = progress_queue.get_nowait()
        except queue.Empty:
            return
        if kind == "started":
            events.started(by_index[index])
        else:
            events.progress(by_index[index], done, total)
