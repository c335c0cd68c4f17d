"""Reading a ~1 GB MCAP: raw iteration vs. decoding every message, with peak memory.

Workload (generated once with :mod:`roboflow.synth`, cached in ``/tmp/roboflow-bench``): 46 s of two
640x480 cameras at 30 fps (one JPEG ``CompressedImage``, one raw rgb8 ``Image``), ``JointState`` at 200 Hz
and a 50 Hz action, ROS2 CDR in 1 MiB zstd chunks (~1.02 GB).

Prints, in one run:

* raw: ``Source.messages()`` over every message, no decoding (the limit: read, decompress, frame);
* decode: the same plus ``decoder_for(channel)(data)`` on every message, touching a field of each;
* throughput of each in MB/s of message payload, their ratio (goal: decode >= 50 % of raw), CPU seconds,
  and each pass's peak RSS (goal: < 300 MB), each pass in a fresh process.

The two passes alternate ``--repeat`` times so both see the same machine load; medians are printed.

Run: ``python3.11 bench/read.py [--repeat 3] [--duration 46] [--path /tmp/roboflow-bench/read.mcap]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

DEFAULT_PATH = Path("/tmp/roboflow-bench/read-46s.mcap")


def ensure_recording(path: Path, duration_s: float) -> Path:
    """Generate the workload unless a recording of that name exists already."""
    if path.exists():
        return path
    from roboflow.synth import SynthSpec, write_recording

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    manifest = write_recording(path, SynthSpec(duration_s=duration_s), "mcap")
    print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB, "
          f"{sum(t.count for t in manifest.topics)} messages) in {time.perf_counter() - started:.1f} s")
    return path


def _pass(path: str, decode: bool) -> dict[str, float]:
    """One pass over the whole recording in this (fresh) process."""
    from roboflow.decode import decoder_for
    from roboflow.sources import open_source

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    payload = messages = 0
    touched = 0
    with open_source(path) as source:
        for message in source.messages():
            payload += len(message.data)
            messages += 1
            if decode:
                decoded = decoder_for(message.channel)(message.data)
                field = getattr(decoded, "data", None)
                touched += len(field if field is not None else decoded.position)  # type: ignore[attr-defined]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall": wall,
        "cpu": (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime),
        "payload": payload,
        "messages": messages,
        "rss_mb": after.ru_maxrss / 1024,
        "touched": touched,
    }


def _run(path: str, decode: bool) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_pass, (path, decode))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--duration", type=float, default=46.0, help="seconds of recording to generate")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = ensure_recording(args.path, args.duration)
    with path.open("rb") as stream:  # warm the page cache so the first pass is not penalised
        while stream.read(1 << 24):
            pass
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "decode": []}
    for _ in range(args.repeat):
        runs["raw"].append(_run(str(path), decode=False))
        runs["decode"].append(_run(str(path), decode=True))
    size_mb = path.stat().st_size / 1e6
    results = {}
    for name, passes in runs.items():
        wall = statistics.median(p["wall"] for p in passes)
        payload_mb = passes[0]["payload"] / 1e6
        results[name] = payload_mb / wall
        print(f"{name:7s} {payload_mb / wall:8.1f} MB/s payload  {size_mb / wall:8.1f} MB/s file  "
              f"wall {wall:6.2f} s  cpu {statistics.median(p['cpu'] for p in passes):6.2f} s  "
              f"peak RSS {max(p['rss_mb'] for p in passes):6.1f} MB  ({int(passes[0]['messages'])} messages, "
              f"{payload_mb:.0f} MB payload)")
    ratio = results["decode"] / results["raw"]
    peak = max(p["rss_mb"] for passes in runs.values() for p in passes)
    print(f"decode/raw throughput ratio {ratio:.2f} (goal >= 0.50: {'ok' if ratio >= 0.5 else 'MISSED'}); "
          f"peak RSS {peak:.0f} MB (goal < 300 MB: {'ok' if peak < 300 else 'MISSED'})")


if __name__ == "__main__":
    main()
