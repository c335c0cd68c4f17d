"""Claim + complete throughput of the control plane, 1 and 4 worker processes, SQLite and TiKV.

TiKV here means the real ``tikv-client`` wheel against the **protocol emulator** (``tests/tikv_emulator``,
started as its own process on loopback): the numbers measure the client, gRPC and the coordination
layer, not a TiKV cluster (where each transaction costs network round trips and Raft replication).

Workload (fixed): a Running batch of ``--units`` units (default 2000 on SQLite, 300 on TiKV). Each worker process opens the store,
starts a :class:`WorkerSession`, then walks the unit list from its own offset, claiming each unit it can
(``claim_unit``: one transaction) and completing it (``complete_unit``: one transaction); units another
worker got first are skipped. Throughput = units / wall time (all workers started together); one unit is
two transactions. Reference, measured in the same run on the same store: bare one-key write transactions
per second (one process), so ``ratio`` = claim+complete transactions/s ÷ bare transactions/s.

Prints one line per (store, processes) with peak RSS of the workers and of this process.

Run: ``python3.11 bench/coordination.py [--units N] [--stores sqlite,tikv]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EMULATOR = ROOT / "tests" / "tikv_emulator"
DEFAULT_UNITS = {"sqlite": 2000, "tikv": 300}


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(EMULATOR), "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("tikv-emulator ready"):
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, "tikv://" + line.split("pd=")[1].split()[0]


def prepare(url: str, batch: str, units: int) -> None:
    from roboflow.coordination import open_store
    from roboflow.coordination.batches import create_batch, set_phase
    from roboflow.coordination.records import BatchPhase, BatchSpec
    from roboflow.coordination.units import UnitSpec, add_units

    store = open_store(url)
    create_batch(store, BatchSpec(batch, (), "file:///bench-out"))
    set_phase(store, batch, BatchPhase.DISCOVERING)
    add_units(store, batch, [UnitSpec(f"u{i:05d}", f"file:///rec/{i}.mcap") for i in range(units)])
    set_phase(store, batch, BatchPhase.RUNNING)
    store.close()


def bare_transactions(url: str, seconds: float = 2.0) -> float:
    """One-key write transactions per second in this process (the reference)."""
    from roboflow.coordination import open_store, run_transaction

    store = open_store(url)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run_transaction(store, lambda txn, n=count: txn.put(f"bench/bare/{n % 50}", b"x" * 200))
        count += 1
    rate = count / (time.perf_counter() - started)
    store.close()
    return rate


def worker(url: str, batch: str, index: int, units: int, ready: Any, go: Any, results: Any) -> None:
    from roboflow.coordination import WorkerSession, open_store
    from roboflow.coordination.errors import IllegalTransitionError
    from roboflow.coordination.units import claim_unit, complete_unit

    store = open_store(url)
    ids = [f"u{i:05d}" for i in range(units)]
    offset = index * units // 4
    with WorkerSession(store, f"bench-{index}") as session:
        ready.put(index)
        go.wait()
        done = 0
        for unit_id in ids[offset:] + ids[:offset]:
            try:
                claim = claim_unit(session, batch, unit_id)
            except IllegalTransitionError:
                continue
            complete_unit(session, claim, {"frames": 1})
            done += 1
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((index, done, rss_mb))
    store.close()


def run(url: str, processes: int, units: int, batch: str) -> dict[str, float]:
    prepare(url, batch, units)
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=worker, args=(url, batch, i, units, ready, go, results)) for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    outcomes = [results.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join(30)
    done = sum(n for _, n, _ in outcomes)
    if done != units:
        raise SystemExit(f"{done} of {units} units completed: the bench is broken")
    return {"units_per_s": units / elapsed, "seconds": elapsed, "worker_rss_mb": max(r for *_, r in outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, help="units per run (default: 2000 SQLite, 300 TiKV)")
    parser.add_argument("--stores", default="sqlite,tikv")
    args = parser.parse_args()
    print("claim+complete per unit; tikv = tikv-client 0.0.4 against the protocol emulator (not a cluster)")
    header = ("store", "procs", "units", "units/s", "txn/s", "bare txn/s", "ratio", "worker RSS")
    widths = (16, 6, 7, 10, 9, 12, 7, 12)
    print("".join(f"{h:<{w}}" if i == 0 else f"{h:>{w}}" for i, (h, w) in enumerate(zip(header, widths))))
    with tempfile.TemporaryDirectory(prefix="roboflow-bench-") as tmp:
        for kind in args.stores.split(","):
            emulator = None
            if kind == "tikv":
                emulator, url = start_emulator()
                label = "tikv (emulator)"
            else:
                url, label = f"sqlite://{tmp}/state.db", "sqlite"
            try:
                bare = bare_transactions(url)
                units = args.units or DEFAULT_UNITS[kind]
                for processes in (1, 4):
                    result = run(url, processes, units, f"bench-{processes}")
                    txn_rate = 2 * result["units_per_s"]
                    print(
                        f"{label:<16}{processes:>6}{units:>7}{result['units_per_s']:>10.0f}{txn_rate:>9.0f}"
                        f"{bare:>12.0f}{txn_rate / bare:>7.2f}{result['worker_rss_mb']:>9.0f} MB"
                    )
            finally:
                if emulator is not None:
                    emulator.terminate()
                    emulator.wait(10)
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
