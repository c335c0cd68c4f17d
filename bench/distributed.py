"""The fleet against `roboflow convert` on the same recordings, and a merge of 1,000 small shards.

Workload (generated once into ``--workdir``): 8 standard recordings (bench/convert.py's: 2 cameras 640x480 at
30 fps, 14 joints at 200 Hz, action at 50 Hz; ``--seconds`` long, default 20; hard links to one file, so 8
units and 8 episodes of the same bytes), the x264 settings of bench/convert.py (``--codec`` to change).

* ``convert -j 1`` and ``-j 2`` (fresh processes, wall time);
* the fleet with 1 and 2 worker processes: a private redis-server, a SQLite state store, a warm
  ``roboflow run --role worker -c N`` plus a finalizer; wall time of ``roboflow submit --wait`` (submit to
  published dataset). Per-unit scheduling overhead from the state store: for each unit, the time between
  its claim and its completion that was not conversion (transitions, staging), plus the time workers sat
  idle while units waited (message delivery, claims), over the units; printed as ms and as % of the mean
  conversion time (goal < 2%). ``speedup`` = the fleet's 1-worker time / its time; ``vs -j`` = the
  fleet's time / convert's with as many processes (goal for 2: <= 1.10).
* merge of 1,000 one-episode shards (short recordings, 1 camera 64x48): time per shard and peak RSS (goal
  < 500 MB).

Run: ``python3.11 bench/distributed.py [--seconds 20] [--shards 1000] [--workdir /tmp/roboflow-bench]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from convert import CODECS, CONFIG, run_convert, workload

RECORDINGS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def inputs(workdir: Path, seconds: float) -> list[Path]:
    source = workload(workdir, seconds)
    folder = workdir / f"fleet-{seconds:g}s"
    folder.mkdir(exist_ok=True)
    links = [folder / f"rec{i}.mcap" for i in range(RECORDINGS)]
    for link in links:
        if not link.exists():
            os.link(source, link)
    return links


def run_fleet(recordings: list[Path], config: Path, out: Path, workers: int, workdir: Path) -> dict[str, float]:
    """A warm one-machine fleet with ``workers`` worker processes converting the batch; returns timings."""
    from roboflow.coordination import open_store
    from roboflow.coordination.units import list_units

    shutil.rmtree(out, ignore_errors=True)
    state = workdir / f"state-{workers}.db"
    state.unlink(missing_ok=True)
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL)
    env = {**os.environ, "ROBOFLOW_BROKER_URL": f"redis://127.0.0.1:{port}/0",
           "ROBOFLOW_STATE_URL": f"sqlite://{state}", "ROBOFLOW_RECONCILE_INTERVAL_S": "5"}
    roboflow = [sys.executable, "-m", "roboflow"]
    nodes = [subprocess.Popen([*roboflow, "run", "--role", role, "-c", str(workers), "--loglevel", "WARNING"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for role in ("worker", "finalizer")]
    try:
        time.sleep(8)  # workers warm, as on a fleet that is already running
        started = time.monotonic()
        done = subprocess.run([*roboflow, "submit", *map(str, recordings), "-c", str(config), "-o", str(out),
                               "--batch-id", "bench", "--wait", "--no-progress"], env=env, capture_output=True,
                              text=True, check=False)
        seconds = time.monotonic() - started
        if done.returncode:
            raise SystemExit(f"the fleet failed:\n{done.stderr}")
        store = open_store(env["ROBOFLOW_STATE_URL"])
        units = list_units(store, "bench")
        store.close()
    finally:
        for node in nodes:
            os.killpg(node.pid, 15)
            node.wait()
        redis.terminate()
        redis.wait()
    claimed = [u.result["claimed_at_ms"] / 1000 for u in units]  # type: ignore[index]
    completed = [u.updated_at_ms / 1000 for u in units]
    converting = [float(u.result["seconds"]) for u in units]  # type: ignore[index]
    busy = sum(c - s for s, c in zip(claimed, completed, strict=True))
    span = max(completed) - min(claimed)
    idle = max(0.0, min(workers, len(units)) * span - busy)
    overhead = (busy - sum(converting) + idle) / len(units)
    return {"seconds": seconds, "overhead_s": overhead, "convert_s": sum(converting) / len(units)}


def merge_many(workdir: Path, shards: int) -> dict[str, float]:
    """``roboflow merge`` of ``shards`` copies of a one-episode shard, in a fresh process."""
    from roboflow.synth import CameraSpec, SynthSpec, write_recording

    folder = workdir / f"shards-{shards}"
    if not folder.exists():
        tiny = workdir / "tiny.mcap"
        tiny.unlink(missing_ok=True)
        write_recording(tiny, SynthSpec(duration_s=0.5, cameras=(CameraSpec("cam_high", "jpeg", 64, 48),)))
        config = workdir / "tiny.toml"
        config.write_text(CONFIG.split("[[mappings]]")[0] + '[[mappings]]\ntopic = "/cam_high/image_raw/compressed"\n'
                          'feature = "observation.images.cam_high"\nmapping_type = "image"\n[[mappings]]\n'
                          'topic = "/joint_states"\nfeature = "observation.state"\nmapping_type = "state"\n'
                          '[video]\n' + CODECS["libx264"] + "\n")
        one = workdir / "tiny-shard"
        shutil.rmtree(one, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "roboflow", "convert", str(tiny), "-c", str(config), "-o",
                        str(one), "--no-progress"], check=True, capture_output=True)
        folder.mkdir()
        for i in range(shards):
            shutil.copytree(one, folder / f"s{i:05d}")
    out = workdir / "merged-many"
    shutil.rmtree(out, ignore_errors=True)
    code = ("import resource, sys\nfrom roboflow.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as end:\n    assert not end.code, end.code\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, "merge", *map(str, sorted(folder.iterdir())), "-o", str(out)],
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"merge failed:\n{done.stderr}")
    return {"seconds": seconds, "per_shard_ms": seconds / shards * 1000, "rss_mb": float(done.stdout.split()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each recording (default 20)")
    parser.add_argument("--codec", choices=sorted(CODECS), default="libx264")
    parser.add_argument("--shards", type=int, default=1000, help="shards in the merge run (default 1000)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/roboflow-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    recordings = inputs(args.workdir, args.seconds)
    config = args.workdir / f"distributed-{args.codec}.toml"
    config.write_text(CONFIG.format(video=CODECS[args.codec]))
    print(f"{RECORDINGS} recordings of {args.seconds:g} s, {args.codec}; load {os.getloadavg()[0]:.2f}")
    local = {j: run_convert(recordings, config, args.workdir / f"local-{j}", j) for j in (1, 2)}
    fleet = {w: run_fleet(recordings, config, args.workdir / f"fleet-{w}", w, args.workdir) for w in (1, 2)}
    print(f"{'run':<16}{'wall s':>8}{'speedup':>9}{'vs -j':>7}{'overhead/unit':>15}{'% of convert':>13}")
    for j, result in local.items():
        print(f"{f'convert -j {j}':<16}{result['seconds']:>8.1f}{local[1]['seconds'] / result['seconds']:>9.2f}")
    for w, result in fleet.items():
        print(f"{f'fleet {w} worker' + ('s' if w > 1 else ''):<16}{result['seconds']:>8.1f}"
              f"{fleet[1]['seconds'] / result['seconds']:>9.2f}{result['seconds'] / local[w]['seconds']:>7.2f}"
              f"{result['overhead_s'] * 1000:>12.0f} ms{100 * result['overhead_s'] / result['convert_s']:>12.2f}%")
    merged = merge_many(args.workdir, args.shards)
    print(f"merge of {args.shards} shards: {merged['seconds']:.1f} s, {merged['per_shard_ms']:.1f} ms per shard, "
          f"peak RSS {merged['rss_mb']:.0f} MB; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
