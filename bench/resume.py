"""What resuming costs: the state bookkeeping of ``roboflow convert``, and a re-run where everything is reused.

Workload: the standard recording of ``bench/convert.py`` (2 cameras 640x480 at 30 fps, JointState at 200 Hz, an
action at 50 Hz; ``--seconds`` long, default 10 to stay under a minute on two cores), ``--batch`` copies (hard
links: same bytes, distinct recordings), converted with ``-j 1`` in this process so every state operation can be
timed. Printed:

* the convert time and the time spent in resume bookkeeping: pinning the inputs (a ``stat`` each), opening and
  reconciling the run's SQLite state, claims, a checkpoint per finished episode, completions, stamping the
  parts' provenance, and finishing (goal: < 1% of the convert time);
* a re-run after a run interrupted just before its merge (every recording reused: only the merge is left),
  against the full convert time (goal: seconds, not a re-conversion).

Run: ``python3.11 bench/resume.py [--seconds 10] [--batch 4] [--workdir /tmp/roboflow-bench]``
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convert import CODECS, CONFIG, workload

from roboflow.config import parse_config
from roboflow.pipeline import RunOptions, local, run_local, runstate, schedule

#: The bookkeeping entry points: (module or class, attribute).
TIMED: list[tuple[Any, str]] = [
    (local, "plan_units"), (local, "_space_needed"), (local, "_published_by_earlier_run"),
    (runstate.LocalRun, "open"), (runstate.LocalRun, "units"), (runstate.LocalRun, "claim"),
    (runstate.LocalRun, "checkpoint"), (runstate.LocalRun, "complete"), (runstate.LocalRun, "merging"),
    (runstate.LocalRun, "phase"), (runstate.LocalRun, "finish"), (schedule, "stamp_parts"),
    (schedule, "shard_info"),
]


class Clock:
    """Total wall time spent inside the wrapped functions (outermost calls only)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.by_name: dict[str, float] = {}
        self._depth = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if not self._depth:
                    spent = time.perf_counter() - started
                    self.seconds += spent
                    self.calls += 1
                    self.by_name[fn.__name__] = self.by_name.get(fn.__name__, 0.0) + spent

        return timed


def instrument(clock: Clock) -> None:
    for owner, name in TIMED:
        original = owner.__dict__[name]
        if isinstance(original, classmethod):
            setattr(owner, name, classmethod(clock.wrap(original.__func__)))
        elif isinstance(original, staticmethod):
            setattr(owner, name, staticmethod(clock.wrap(original.__func__)))
        else:
            setattr(owner, name, clock.wrap(original))


class StopBeforeMerge:
    """Run events that interrupt the run (as Ctrl-C would) once every recording is converted."""

    wants_progress = False

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None

    def merging(self, shards: int) -> None:
        raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="recording length (default 10)")
    parser.add_argument("--batch", type=int, default=4, help="recordings (default 4)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/roboflow-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = workload(args.workdir, args.seconds)
    inputs = args.workdir / "resume-inputs"
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir()
    for i in range(args.batch):
        os.link(source, inputs / f"rec{i}.mcap")
    config = parse_config(CONFIG.format(video=CODECS["libx264"]))
    out = args.workdir / "resume-out"
    shutil.rmtree(out, ignore_errors=True)

    clock = Clock()
    instrument(clock)
    started = time.monotonic()
    report = run_local([str(inputs)], config, out, RunOptions())
    convert_s = time.monotonic() - started
    frames = sum(r.frames for r in report.results)
    print(f"convert: {args.batch} x {args.seconds:g} s recordings, {frames} frames in {convert_s:.1f} s")
    print(f"bookkeeping: {clock.seconds * 1000:.0f} ms in {clock.calls} calls = "
          f"{100 * clock.seconds / convert_s:.2f}% of the convert time (goal < 1%)")
    heaviest = sorted(clock.by_name.items(), key=lambda kv: -kv[1])[:4]
    print("  of which " + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in heaviest))

    shutil.rmtree(out)
    try:
        run_local([str(inputs)], config, out, RunOptions(), StopBeforeMerge())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass
    started = time.monotonic()
    again = run_local([str(inputs)], config, out, RunOptions())
    rerun_s = time.monotonic() - started
    print(f"re-run, every recording reused ({again.reused}/{args.batch}): {rerun_s:.1f} s, of which merge "
          f"{again.merge_seconds:.1f} s = {rerun_s / convert_s:.2f} x the convert time")
    shutil.rmtree(out)
    shutil.rmtree(inputs)


if __name__ == "__main__":
    main()
