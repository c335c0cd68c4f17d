"""A worker process for the concurrency test: claims units in the same order as its rivals, works, completes.

Run as a script: ``python race_worker.py URL POD BATCH LOG [--victim MARKER] [--ttl S] [--work S]``.
Appends one JSON line per event to LOG (claim, complete, lost, reclaim). A victim writes MARKER after its
first claim and then hangs until it is killed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from roboflow.coordination import open_store
from roboflow.coordination.checkpoints import save_checkpoint
from roboflow.coordination.errors import IllegalTransitionError, LeaseHeldError, LeaseLostError
from roboflow.coordination.reaper import Reaper
from roboflow.coordination.records import UnitState
from roboflow.coordination.units import claim_unit, complete_unit, list_units
from roboflow.coordination.workers import CoordinationConfig, WorkerSession

FINAL = {UnitState.COMPLETE, UnitState.FAILED, UnitState.DEAD, UnitState.CANCELLED}


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("url", "pod", "batch", "log"):
        parser.add_argument(name)
    parser.add_argument("--victim", type=Path)
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--work", type=float, default=0.02)
    args = parser.parse_args()
    store = open_store(args.url)
    config = CoordinationConfig(lease_ttl_s=args.ttl, heartbeat_timeout_s=args.ttl)
    log = Path(args.log)

    def event(kind: str, unit: str, **extra: object) -> None:
        with log.open("a") as out:
            out.write(json.dumps({"event": kind, "unit": unit, "pod": args.pod, **extra}) + "\n")

    def new_session() -> WorkerSession:
        while True:
            try:
                return WorkerSession(store, args.pod, config).start()
            except LeaseHeldError:  # our previous incarnation's lease has not expired yet
                time.sleep(0.2)

    session = new_session()
    reaper = Reaper(store, config, max_reclaims=4)
    while True:
        for reclaim in reaper.reap_once():
            event("reclaim", reclaim.unit_id, victim=reclaim.pod_id)
        if session.lost:
            session = new_session()
        claim = None
        for unit in list_units(store, args.batch, UnitState.PENDING):  # everybody in the same order
            try:
                claim = claim_unit(session, args.batch, unit.unit_id)
                break
            except IllegalTransitionError:
                continue
            except LeaseLostError:
                break
        if claim is None:
            if all(u.state in FINAL for u in list_units(store, args.batch)):
                break
            time.sleep(0.05)
            continue
        event("claim", claim.unit.unit_id, attempts=claim.unit.attempts)
        if args.victim is not None:
            args.victim.write_text(claim.unit.unit_id)
            time.sleep(3600)  # killed mid-unit by the test
        try:
            time.sleep(args.work)
            save_checkpoint(session, claim, frame_index=10, episode_index=0)
            complete_unit(session, claim, {"by": args.pod})
            event("complete", claim.unit.unit_id)
        except LeaseLostError as err:
            event("lost", claim.unit.unit_id, error=str(err))
    session.stop()
    store.close()


if __name__ == "__main__":
    main()
