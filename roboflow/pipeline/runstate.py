"""A local run recorded like a fleet batch, so that a killed ``roboflow convert`` resumes.

The run is a batch of the state store (:mod:`roboflow.coordination`) whose id comes from the output
(:func:`roboflow.pipeline.staging.run_id`); its units are the recordings, each pinned by its URL and identity
(the size and modification time of each of its files, or the size and ETag of each of its objects): a unit id
is the fleet's :func:`~roboflow.fleet.batch.unit_id_for` plus a digest of that identity, so an input that
changed (replaced by another of the same size included) is a new unit. The batch spec pins the config (text
and SHA-256) and the format. Units are claimed, checkpointed (one part per finished episode) and completed
under worker sessions exactly as a fleet worker does; only the scheduling differs. Opening the run reconciles
what an earlier run of the same output left:

* a different config or format: everything staged is discarded (one line says why);
* an input whose identity changed, or whose staged episodes no longer match what was recorded: its unit is
  dropped and converted again (one line says why);
* a unit held by the killed run: given back with its checkpoint, so it resumes at its first unfinished episode;
* a unit that failed: tried again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roboflow.config.model import Config
from roboflow.coordination import CoordinationConfig, Reaper, StateStore, WorkerSession, open_store
from roboflow.coordination.batches import FINAL_PHASES, create_batch, delete_batch, get_batch, set_phase
from roboflow.coordination.checkpoints import save_checkpoint
from roboflow.coordination.errors import RecordNotFoundError
from roboflow.coordination.factory import ENV_STATE_URL
from roboflow.coordination.records import BatchPhase, BatchSpec, UnitState, WorkUnit
from roboflow.coordination.units import (
    Claim,
    UnitSpec,
    add_units,
    claim_unit,
    complete_unit,
    fail_unit,
    forget_units,
    list_units,
    requeue_unit,
)
from roboflow.errors import RoboflowError
from roboflow.fleet.batch import unit_id_for
from roboflow.lerobot.merge import PROVENANCE_PATH
from roboflow.pipeline.merge import shard_info
from roboflow.pipeline.scan import WorkItem
from roboflow.pipeline.staging import RunLock, clear, output_url, run_id, staging_base
from roboflow.storage import StorageOptions, open_storage, parse_url

__all__ = ["LocalRun", "Planned", "damaged", "plan_units"]

#: Claims of a local unit before it counts as Dead: a local run is killed by its user, not by the recording.
_ATTEMPTS = 1000
_SESSION = CoordinationConfig(lease_ttl_s=30.0, heartbeat_timeout_s=30.0, max_attempts=_ATTEMPTS)


@dataclass(frozen=True, slots=True)
class Planned:
    """A recording of the run and its unit.

    Attributes:
        item: The work item.
        unit_id: Its unit: the fleet's id of the URL plus a digest of the identity.
        size: Bytes of the recording.
        identity: What pins it, per file or object: ``<name> size=<bytes>B mtime_ns=<ns since the epoch>`` (local)
            or ``<key> size=<bytes>B etag=<ETag>`` (remote: the store's ETag changes with the content).
    """

    item: WorkItem
    unit_id: str
    size: int
    identity: str


def plan_units(items: Sequence[WorkItem], storage: StorageOptions | None = None) -> list[Planned]:
    """Pin every recording by its identity (one ``stat`` per file, or one listing per remote recording)."""
    planned = []
    for item in items:
        size, identity = _identity(item.url, storage)
        digest = hashlib.sha1(identity.encode()).hexdigest()[:8]
        planned.append(Planned(item, f"{unit_id_for(item.url)}-{digest}", size, identity))
    return planned


def _identity(url: str, storage: StorageOptions | None) -> tuple[int, str]:
    location = parse_url(url)
    if location.scheme == "file":
        root = Path(location.path)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        stats = [(str(f.relative_to(root)) if root.is_dir() else "", f.stat()) for f in files]
        size = sum(s.st_size for _, s in stats)
        return size, ";".join(f"{name} size={s.st_size}B mtime_ns={s.st_mtime_ns}" for name, s in stats)
    parent = open_storage(location.parent.url, storage)
    infos = [i for i in parent.list(location.name)
             if i.key == location.name or i.key.startswith(location.name + "/")]
    return sum(i.size for i in infos), ";".join(f"{i.key} size={i.size}B etag={i.etag}" for i in infos)


class LocalRun:
    """The record of one output's run; see the module docstring. Close it (or use ``with``)."""

    def __init__(self, store: StateStore, spec: BatchSpec, root: Path, lock: RunLock) -> None:
        self.store = store
        self.spec = spec
        self.root = root
        self._lock = lock
        self._sessions: dict[int, WorkerSession] = {}
        self.notices: list[str] = []

    @property
    def batch_id(self) -> str:
        return self.spec.batch_id

    @classmethod
    def open(cls, out: str | Path, config: Config, fmt: str, planned: Sequence[Planned], *,
             restart: bool = False, published: bool = False) -> LocalRun:
        """Lock the output's run, open its state (creating it), and reconcile it with ``planned``.

        With ``published`` (the output is the dataset of this run, killed before it cleaned up), a run that
        was merging or complete is left as it is, for :meth:`finish`.

        Raises:
            UserError: Another run is writing this output.
            StateError: The state store failed.
        """
        url = output_url(out)
        batch_id = run_id(url)
        root = staging_base(url) / batch_id
        lock = RunLock(root, str(out))
        try:
            store = open_store(os.environ.get(ENV_STATE_URL, "").strip() or f"sqlite://{root / 'state.db'}")
        except BaseException:
            lock.release()
            raise
        spec = BatchSpec(batch_id=batch_id, sources=(), output_url=url, config_hash=config.sha256,
                         config_text=config.text, format=fmt,
                         limits={"local": True, "staging_url": str(root.parent), "config_origin": config.origin},
                         submitted_at_ms=int(time.time() * 1000), submitted_by=f"convert@{socket.gethostname()}")
        run = cls(store, spec, root, lock)
        try:
            if not (published and run.phase() in (BatchPhase.MERGING, BatchPhase.COMPLETE)):
                run._reconcile(planned, restart=restart)
        except BaseException:
            run.close()
            raise
        return run

    # ---- opening ----
    def _reconcile(self, planned: Sequence[Planned], *, restart: bool) -> None:
        try:
            status = get_batch(self.store, self.batch_id)
        except RecordNotFoundError:
            status = None
        if status is not None:
            old = status.spec
            why = None
            if restart:
                why = "--restart: discarded what an earlier run of this output staged"
            elif status.phase.phase in FINAL_PHASES:
                why = ""  # the leftover record of a finished run
            elif (old.config_hash, old.format) != (self.spec.config_hash, self.spec.format):
                what = "config" if old.config_hash != self.spec.config_hash else "format"
                why = (f"the {what} changed since the interrupted run of this output: converting every recording "
                       "again")
            if why is not None:
                self._discard(why)
                status = None
            else:
                self.spec = old
        if status is None:
            create_batch(self.store, self.spec)
            set_phase(self.store, self.batch_id, BatchPhase.DISCOVERING)
        units = {u.unit_id: u for u in list_units(self.store, self.batch_id)}
        drop, reasons = self._stale_units(units, planned)
        phase = get_batch(self.store, self.batch_id).phase.phase
        if phase is BatchPhase.MERGING and (drop or any(p.unit_id not in units for p in planned)):
            self._discard("")  # a merge was under way: its batch takes no new units, start it over
            self.notices.extend(reasons)
            create_batch(self.store, self.spec)
            set_phase(self.store, self.batch_id, BatchPhase.DISCOVERING)
            units, drop, phase = {}, [], BatchPhase.DISCOVERING
        else:
            self.notices.extend(reasons)
        if drop:
            forget_units(self.store, self.batch_id, drop)
            for unit_id in drop:
                shutil.rmtree(self.root / unit_id, ignore_errors=True)
                units.pop(unit_id)
        if phase is BatchPhase.PENDING:  # killed right after it was created
            set_phase(self.store, self.batch_id, BatchPhase.DISCOVERING)
        if phase is not BatchPhase.MERGING:
            add_units(self.store, self.batch_id, [UnitSpec(p.unit_id, p.item.url, p.size) for p in planned],
                      max_attempts=_ATTEMPTS)
            set_phase(self.store, self.batch_id, BatchPhase.RUNNING)
            self._revive(units.values())

    def _stale_units(self, units: dict[str, WorkUnit], planned: Sequence[Planned]) -> tuple[list[str], list[str]]:
        """Units to drop (their input changed or left the run, or their staged parts are damaged), and why."""
        wanted = {p.unit_id: p for p in planned}
        by_url = {p.item.url: p for p in planned}
        drop, why = [], []
        for unit in units.values():
            if unit.unit_id not in wanted:
                drop.append(unit.unit_id)
                if unit.source_url in by_url:
                    now = by_url[unit.source_url].size
                    pin = "new modification time" if parse_url(unit.source_url).scheme == "file" else "new ETag"
                    change = f"size {unit.size_bytes} → {now} bytes" if now != unit.size_bytes else f"same size, {pin}"
                    why.append(f"{unit.source_url}: changed since the interrupted run ({change}): converting it again")
            elif unit.state is UnitState.COMPLETE and (problem := damaged(unit)):
                drop.append(unit.unit_id)
                why.append(f"{unit.source_url}: its staged episodes do not match what was recorded ({problem}): "
                           "converting it again")
        return drop, why

    def _revive(self, units: Iterable[WorkUnit]) -> None:
        """Give back the units the killed run held (with their checkpoints) and retry the ones that failed."""
        reaper = Reaper(self.store, _SESSION)
        for unit in units:
            if unit.state is UnitState.PROCESSING and unit.owner:
                reaper.reclaim_dead(unit.owner)
            elif unit.state in (UnitState.FAILED, UnitState.DEAD):
                requeue_unit(self.store, self.batch_id, unit.unit_id)

    def _discard(self, why: str) -> None:
        delete_batch(self.store, self.batch_id)
        clear(self.root)
        if why:
            self.notices.append(why)

    # ---- units ----
    def units(self) -> dict[str, WorkUnit]:
        return {u.unit_id: u for u in list_units(self.store, self.batch_id)}

    def claim(self, slot: int, unit_id: str) -> tuple[WorkerSession, Claim]:
        """Claim the unit under the session of worker slot ``slot`` (started on first use)."""
        session = self._sessions.get(slot)
        if session is None:
            session = WorkerSession(self.store, f"{self.batch_id}-{os.getpid()}-{slot}", _SESSION).start()
            self._sessions[slot] = session
        return session, claim_unit(session, self.batch_id, unit_id)

    def attempt_dir(self, claim: Claim) -> str:
        """Where this attempt writes its parts, relative to :attr:`root`."""
        return f"{claim.unit.unit_id}/attempt-{claim.unit.attempts}"

    @staticmethod
    def checkpoint(session: WorkerSession, claim: Claim, data: dict[str, Any]) -> None:
        """Record the finished parts (``data``: ``parts``, ``next``, ``frames``, ``alignment``, ``skipped``)."""
        save_checkpoint(session, claim, frame_index=int(data["frames"]) - 1, episode_index=int(data["next"]) - 1,
                        data=data)

    @staticmethod
    def complete(session: WorkerSession, claim: Claim, result: dict[str, Any]) -> None:
        complete_unit(session, claim, result)

    @staticmethod
    def fail(session: WorkerSession, claim: Claim, error: str, *, retryable: bool) -> None:
        fail_unit(session, claim, error, retryable=retryable)

    # ---- the end ----
    def merging(self) -> None:
        set_phase(self.store, self.batch_id, BatchPhase.MERGING)

    def phase(self) -> BatchPhase | None:
        """The run's phase (None: no run recorded)."""
        try:
            return get_batch(self.store, self.batch_id).phase.phase
        except RecordNotFoundError:
            return None

    def finish(self, message: str) -> None:
        """The dataset is published: mark the run Complete, remove its shards, then forget it (in this order, so
        a run killed meanwhile still finds its record and finishes)."""
        set_phase(self.store, self.batch_id, BatchPhase.COMPLETE, message=message)
        clear(self.root)
        self.discard()

    def discard(self) -> None:
        """Forget the run and remove its staging (the run ended: nothing is left to resume)."""
        delete_batch(self.store, self.batch_id)
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)
        parent = self.root.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

    def close(self) -> None:
        """Stop the sessions, close the store, release the lock (idempotent)."""
        for session in self._sessions.values():
            session.stop()
        self._sessions.clear()
        self.store.close()
        self._lock.release()


def damaged(unit: WorkUnit) -> str | None:
    """Why the staged parts of a Complete unit cannot be reused as recorded, or None if they can: each part must
    be readable, name the recording's SHA-256 recorded at completion, and together hold the recorded frames."""
    result = unit.result or {}
    parts = [str(p) for p in result.get("shards", [])]
    if not parts:
        return "no parts recorded"
    sha256 = (result.get("source") or {}).get("sha256")
    frames = 0
    for part in parts:
        try:
            frames += int(shard_info(part)["total_frames"])
            with open_storage(part).reader(PROVENANCE_PATH) as stream:
                staged = (json.load(stream).get("source") or {}).get("sha256")
        except (RoboflowError, OSError, ValueError, KeyError, AttributeError) as err:
            return f"{part}: {err}"
        if staged != sha256:
            return f"{part} was made from another recording (SHA-256 {staged}, recorded {sha256})"
    if frames != int(result.get("frames", -1)):
        return f"{frames} frames staged, {result.get('frames')} recorded"
    return None

