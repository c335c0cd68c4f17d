"""Control-plane scale: 10,000 units, 100 simulated workers (claim, heartbeat, complete; no conversion).

Runs ``tests/fleet/simulation.py`` on SQLite and on the TiKV protocol emulator (its own process; the numbers
measure the real client, gRPC and the coordination layer, not a TiKV cluster). Units arrive through a queue
as from a broker, 5% of them twice (redelivery). Prints per store: time to record the units (and in how many
transactions), claims/s, p50/p99 claim latency, duplicates turned away, and whether every unit was completed
exactly once. ``relost``: sessions that stepped down (renewals delayed by the loaded store) and were replaced,
their units reaped and sent again.

Then the scanner's side on SQLite and a private redis-server: ``scan_batch`` over a directory of ``--units``
(empty) recordings, recording the units and sending the chord (a convert message per unit): wall time, peak
traced Python memory, messages queued.

Run: ``python3.11 bench/fleet_scale.py [--units 10000] [--workers 100] [--stores sqlite,tikv]``
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from coordination import start_emulator
from fleet.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--processes", type=int, default=4, help="processes the workers are spread over")
    parser.add_argument("--stores", default="sqlite,tikv")
    args = parser.parse_args()
    print(f"{'store':<8}{'units':>7}{'workers':>8}{'record s':>9}{'txns':>6}{'claims/s':>10}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'dups':>6}{'relost':>7}  exactly once")
    for kind in args.stores.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            emulator = None
            if kind == "tikv":
                emulator, url = start_emulator()
            else:
                url = f"sqlite://{Path(tmp) / 'state.db'}"
            try:
                r = simulate(url, units=args.units, workers=args.workers, processes=args.processes)
            finally:
                if emulator is not None:
                    emulator.terminate()
                    emulator.wait()
        verdict = "yes" if r.claims == r.complete == r.units and not r.lost else f"NO (lost {r.lost})"
        print(f"{kind:<8}{r.units:>7}{r.workers:>8}{r.record_s:>9.2f}{r.record_transactions:>6}"
              f"{r.claims_per_s:>10.1f}{r.p50_claim_ms:>8.1f}{r.p99_claim_ms:>8.1f}{r.turned_away:>6}{r.stepped_down:>7}  {verdict}")

    scan_and_send(args.units)


def scan_and_send(units: int) -> None:
    """Record ``units`` units and send their chord through a real Redis; print time and peak memory."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL)
    os.environ["ROBOFLOW_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    try:
        time.sleep(0.5)
        import redis as redis_client

        from roboflow.coordination import open_store
        from roboflow.coordination.batches import create_batch
        from roboflow.coordination.records import BatchSpec
        from roboflow.fleet.scanner import scan_batch
        from roboflow.tasks import CeleryDispatcher

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "in"
            folder.mkdir()
            for i in range(units):
                (folder / f"r{i:05d}.mcap").write_bytes(b"")
            store = open_store(f"sqlite://{Path(tmp) / 'state.db'}")
            create_batch(store, BatchSpec("scan", (str(folder),), str(Path(tmp) / "out")))
            tracemalloc.start()
            started = time.perf_counter()
            recorded = scan_batch(store, "scan", CeleryDispatcher())
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            queued = redis_client.Redis(port=port).llen("convert")
        print(f"scan_batch: {recorded} units recorded and {queued} convert messages sent in {seconds:.1f} s, "
              f"peak traced memory {peak / 1e6:.0f} MB")
    finally:
        redis.terminate()
        redis.wait()


if __name__ == "__main__":
    main()
