"""Mutation fuzz campaign: damaged recordings of every format through ``inspect`` and ``convert``.

    PYTHONPATH=. python3.11 bench/fuzz.py --cases 2000 --seed 1
    PYTHONPATH=. python3.11 bench/fuzz.py --seed 1 --case 417      # replay one case, print its damage

Case ``i`` damages seed recording ``i % len(seeds)`` with ``random.Random(f"{seed}:{i}")`` (see
:mod:`roboflow.synth.mutate`) and runs it in a worker process under an address-space limit (default 3 GB),
so a runaway allocation shows up as a ``MemoryError`` instead of swapping; a case that takes longer than
``--timeout`` seconds is a hang (the worker is killed and replaced). Prints cases per seed format x outcome
and every bad case with its damage (as it happens), to be replayed with ``--case``; progress every 500 cases on
stderr, and Ctrl-C or SIGTERM prints the table of the cases run so far. Exit status 1 if any case was bad.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

from roboflow.synth.fuzz import BAD, Outcome, Seed, Verdict, make_case, make_seeds, run_case

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "recordings"


def _case(seeds: list[Seed], seed: int, index: int, work: Path) -> tuple[str, str, Verdict]:
    directory = work / f"case-{index}"
    try:
        case = make_case(seeds, seed, index, directory / "input")
        return case.seed.label, case.damage, run_case(case, work / "fuzz.toml", directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _worker(conn: Connection, seeds: list[Seed], seed: int, work: Path, memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    while True:
        index = conn.recv()
        if index is None:
            return
        try:
            label, what, verdict = _case(seeds, seed, index, work)
        except MemoryError:
            label, what, verdict = seeds[index % len(seeds)].label, "?", Verdict(Outcome.MEMORY, "in the harness")
        conn.send((label, what, verdict.outcome.value, verdict.detail))


class _Pool:
    """One worker process, replaced when a case hangs or kills it."""

    def __init__(self, seeds: list[Seed], seed: int, work: Path, memory: int) -> None:
        self._args = (seeds, seed, work, memory)
        self._context = multiprocessing.get_context("fork")
        self._start()

    def _start(self) -> None:
        self._conn, child = self._context.Pipe()
        self._process = self._context.Process(target=_worker, args=(child, *self._args), daemon=True)
        self._process.start()

    def run(self, index: int, timeout: float) -> tuple[str, str]:
        """(outcome, detail), with the case's label and damage prefixed to the detail when the worker answered."""
        self._conn.send(index)
        try:
            if self._conn.poll(timeout):
                label, what, outcome, detail = self._conn.recv()
                return outcome, f"[{label}] {what}: {detail}"
            verdict = (Outcome.HANG.value, f"no answer within {timeout:.0f} s")
        except EOFError:
            self._process.join()
            verdict = (Outcome.TRACEBACK.value, f"the worker died (exit status {self._process.exitcode})")
        self._process.kill()
        self._process.join()
        self._start()
        return verdict

    def close(self) -> None:
        try:
            self._conn.send(None)
        except OSError:  # the worker is gone (e.g. it got the same Ctrl-C)
            pass
        self._process.join(5)
        self._process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", type=int, help="run only this case index and show its damage")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    parser.add_argument("--memory-gb", type=float, default=3.0, help="address-space limit of the worker")
    parser.add_argument("--recordings", type=Path, default=RECORDINGS, help="real recordings to damage too")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="roboflow-fuzz-"))
    try:
        seeds = make_seeds(work, args.recordings if args.recordings.is_dir() else None)
        pool = _Pool(seeds, args.seed, work, int(args.memory_gb * 2**30))
        indexes = [args.case] if args.case is not None else range(args.cases)
        table: dict[str, Counter[str]] = {}
        started = time.monotonic()
        done = bad = 0
        try:
            for index in indexes:
                outcome, detail = pool.run(index, args.timeout)
                label = seeds[index % len(seeds)].label
                table.setdefault(label, Counter())[outcome] += 1
                done += 1
                if Outcome(outcome) in BAD or args.case is not None:
                    bad += Outcome(outcome) in BAD
                    print(f"case {index} {label}: {outcome}: {detail}", flush=True)
                if done % 500 == 0:
                    print(f"{done} cases, {bad} bad, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        except KeyboardInterrupt:  # a campaign stopped by hand still reports the cases it ran
            print(f"interrupted after {done} cases", file=sys.stderr)
        pool.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    _print_table(table, done, seconds)
    return 1 if any(Outcome(o) in BAD for counts in table.values() for o in counts) else 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops a campaign like Ctrl-C (which a background job ignores): the table is still printed."""
    raise KeyboardInterrupt


def _print_table(table: dict[str, Counter[str]], cases: int, seconds: float) -> None:
    outcomes = [outcome.value for outcome in Outcome]
    width = max(len(label) for label in [*table, "format", "total"])
    print(f"{cases} cases in {seconds:.0f} s")
    print(f"{'format':<{width}} " + " ".join(f"{o:>15}" for o in outcomes))
    for label in sorted(table):
        print(f"{label:<{width}} " + " ".join(f"{table[label][o]:>15}" for o in outcomes))
    totals = sum(table.values(), Counter())
    print(f"{'total':<{width}} " + " ".join(f"{totals[o]:>15}" for o in outcomes))


if __name__ == "__main__":
    sys.exit(main())
