"""A control-plane load: many simulated workers claim, heartbeat and complete units; no conversion.

Units reach the workers as they would through a broker: a queue of unit ids, each sent once plus a
duplicate for every ``duplicate_every``-th unit (redelivery), which the claim must turn away. Workers are
threads (each its own :class:`WorkerSession`: lease and heartbeat thread) in a few spawned processes, one store
per process. A worker whose session stepped down (an overloaded store delayed its renewals) starts a new
one, as a fleet worker does; this process plays the reconciler: it runs the reaper and sends reclaimed
units again, and stops the workers once every unit is done. Used by ``tests/fleet/test_control_plane_scale.py`` (small) and ``bench/fleet_scale.py`` (10,000
units, 100 workers).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["ScaleResult", "simulate"]

_STOP = ""


@dataclass(frozen=True)
class ScaleResult:
    units: int
    workers: int
    record_s: float
    record_transactions: int
    seconds: float
    claims: int
    turned_away: int
    stepped_down: int
    p50_claim_ms: float
    p99_claim_ms: float
    complete: int
    lost: int

    @property
    def claims_per_s(self) -> float:
        return self.claims / self.seconds


class _Counting:
    """Counts the transactions a store commits (wraps ``run_once``)."""

    def __init__(self, store: Any) -> None:
        self.store, self.count = store, 0
        self._run_once = store.run_once

        def run_once(fn: Any, *, readonly: bool = False) -> Any:
            self.count += 1
            return self._run_once(fn, readonly=readonly)

        store.run_once = run_once


def _record(url: str, batch: str, units: int) -> tuple[float, int]:
    from roboflow.coordination import open_store
    from roboflow.coordination.batches import create_batch, set_phase
    from roboflow.coordination.records import BatchPhase, BatchSpec
    from roboflow.coordination.units import UnitSpec, add_units

    store = open_store(url)
    create_batch(store, BatchSpec(batch, (), "file:///scale-out"))
    set_phase(store, batch, BatchPhase.DISCOVERING)
    counting = _Counting(store)
    started = time.perf_counter()
    add_units(store, batch, (UnitSpec(f"u{i:05d}", f"file:///rec/{i:05d}.mcap", 1000) for i in range(units)))
    elapsed = time.perf_counter() - started
    set_phase(store, batch, BatchPhase.RUNNING)
    store.close()
    return elapsed, counting.count


def _process(url: str, batch: str, index: int, threads: int, lease_ttl_s: float, work: Any, ready: Any, go: Any,
             done: Any, results: Any) -> None:
    from roboflow.coordination import CoordinationConfig, WorkerSession, open_store
    from roboflow.coordination.errors import IllegalTransitionError, LeaseLostError
    from roboflow.coordination.units import claim_unit, complete_unit

    store = open_store(url)
    config = CoordinationConfig(lease_ttl_s=lease_ttl_s, heartbeat_timeout_s=lease_ttl_s)
    sessions = [WorkerSession(store, f"sim-{index}-{t}-0", config).start() for t in range(threads)]
    latencies: list[float] = []
    counts = {"claims": 0, "turned_away": 0, "stepped_down": 0}
    lock = threading.Lock()

    def run(session: WorkerSession) -> None:
        incarnation = 0
        while True:
            unit_id = work.get()
            if unit_id == _STOP:
                session.stop()
                return
            if session.lost:
                incarnation += 1
                with lock:
                    counts["stepped_down"] += 1
                session = WorkerSession(store, f"{session.pod_id.rsplit('-', 1)[0]}-{incarnation}", config).start()
            started = time.perf_counter()
            try:
                claim = claim_unit(session, batch, unit_id)
            except IllegalTransitionError:
                with lock:
                    counts["turned_away"] += 1
                continue
            except LeaseLostError:
                work.put(unit_id)  # not claimed: send it again (the reconciler's job in a fleet)
                continue
            latency = time.perf_counter() - started
            try:
                complete_unit(session, claim, {"worker": session.pod_id})
            except LeaseLostError:
                continue  # claimed by a session that stepped down: the reaper gives it back, it is sent again
            done.put(unit_id)
            with lock:
                latencies.append(latency)
                counts["claims"] += 1

    ready.put(index)
    go.wait()
    pool = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    store.close()
    results.put((counts, latencies))


def simulate(url: str, *, units: int, workers: int, processes: int = 4, duplicate_every: int = 20,
             lease_ttl_s: float = 30.0, batch: str = "scale") -> ScaleResult:
    """Run the load against the store at ``url``; checks nothing, reports everything (see :class:`ScaleResult`)."""
    from roboflow.coordination import CoordinationConfig, Reaper, UnitState, open_store
    from roboflow.coordination.units import list_units

    record_s, record_transactions = _record(url, batch, units)
    ctx = multiprocessing.get_context("spawn")
    work, ready, results, done, go = ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Event()
    per_process = [workers // processes + (1 if i < workers % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_process, args=(url, batch, i, n, lease_ttl_s, work, ready, go, done, results))
             for i, n in enumerate(per_process) if n]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    for i in range(units):
        work.put(f"u{i:05d}")
        if duplicate_every and i % duplicate_every == 0:
            work.put(f"u{i:05d}")
    started = time.perf_counter()
    go.set()
    store = open_store(url)
    reaper = Reaper(store, CoordinationConfig(lease_ttl_s=lease_ttl_s, heartbeat_timeout_s=lease_ttl_s))
    finished: set[str] = set()
    next_reap = time.monotonic() + 1
    while len(finished) < units:
        try:
            finished.add(done.get(timeout=1))
        except queue.Empty:
            pass
        if time.monotonic() >= next_reap:
            for reclaim in reaper.reap_once():
                work.put(reclaim.unit_id)
            next_reap = time.monotonic() + 1
    store.close()
    for _ in range(workers):
        work.put(_STOP)
    outcomes = []
    for _ in procs:
        try:
            outcomes.append(results.get(timeout=1800))
        except queue.Empty:
            raise RuntimeError("a simulated worker process did not report") from None
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(60)
    latencies = sorted(lat for _, lats in outcomes for lat in lats)
    store = open_store(url)
    final = list_units(store, batch)
    store.close()
    once = sum(1 for u in final if u.state is UnitState.COMPLETE)

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return ScaleResult(
        units=units, workers=workers, record_s=record_s, record_transactions=record_transactions, seconds=elapsed,
        claims=sum(c["claims"] for c, _ in outcomes), turned_away=sum(c["turned_away"] for c, _ in outcomes),
        stepped_down=sum(c["stepped_down"] for c, _ in outcomes),
        p50_claim_ms=quantile(0.5), p99_claim_ms=quantile(0.99), complete=once,
        lost=sum(1 for u in final if u.state is not UnitState.COMPLETE),
    )
