"""``roboflow convert`` on the standard workload, against decoding + encoding the same frames alone.

Workload (generated once by ``roboflow.synth`` into ``--workdir`` and reused): one recording of 60 s with 2
cameras 640x480 at 30 fps (one JPEG sensor_msgs/CompressedImage, one raw rgb8 sensor_msgs/Image), JointState at
200 Hz with 14 joints and a Float64MultiArray action at 50 Hz. Two jobs:

* ``-j 1``: that recording;
* ``-j 2``: a batch of 4 such recordings (hard links to the same file: same bytes, four shards, one merge).

Each job runs in a fresh process and is compared with the limit measured in the same run, also in a fresh
process: the same number of frames per camera decoded (JPEG by simplejpeg, raw rgb8 as a view) and encoded with the
same settings, one encoder thread per camera (plain PyAV) - all a converter cannot avoid; only that part is timed
(the frames are loaded into memory first; the raw camera cycles through 64 of its frames). For the batch the
limit is four such episodes, two at a time. The convert time is the whole command, process start included.
CPU seconds (user + sys) and their ratio are printed for -j 1 (the CPU of -j 2's worker processes is not visible
here): on a machine shared with other work they show the overhead more steadily than wall time. Printed per job: frames/s (dataset frames), input MB/s, peak RSS, wall time
and ``ratio = limit time / convert time`` (goal >= 0.8).

Run: ``python3.11 bench/convert.py [--seconds 60] [--codec libx264] [--workdir /tmp/roboflow-bench]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CONFIG = """
[dataset]
name = "bench"
fps = 30
task = "bench"
[[mappings]]
topic = "/cam_high/image_raw/compressed"
feature = "observation.images.cam_high"
mapping_type = "image"
[[mappings]]
topic = "/cam_wrist/image_raw"
feature = "observation.images.cam_wrist"
mapping_type = "image"
[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"
[[mappings]]
topic = "/action"
feature = "action"
mapping_type = "action"
[video]
{video}
"""
CODECS = {
    "libsvtav1": 'codec = "libsvtav1"\npreset = "12"',  # lerobot's settings: crf 30, g 2, preset 12
    "libx264": 'codec = "libx264"\ncrf = 23\npreset = "veryfast"\ngop = 2',
}
#: Distinct raw frames kept in memory for the limit (the raw camera needs no decoding, only its bytes).
RAW_FRAMES = 64


def workload(workdir: Path, seconds: float) -> Path:
    from roboflow.synth import SynthSpec, write_recording

    path = workdir / f"standard-{seconds:g}s.mcap"
    if not path.exists():
        started = time.monotonic()
        write_recording(path, SynthSpec(duration_s=seconds))
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s")
    return path


def run_convert(inputs: list[Path], config: Path, out: Path, jobs: int) -> dict[str, float]:
    """``roboflow convert`` in a fresh process; wall time and the process tree's peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    code = (
        "import resource, sys\nfrom roboflow.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as end:\n    assert not end.code, end.code\n"
        "self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(max(self, kids) // 1024)\n"
    )
    args = ["convert", *map(str, inputs), "-c", str(config), "-o", str(out), "-j", str(jobs), "--no-progress"]
    before = _children_cpu()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"convert failed:\n{done.stderr}")
    info = json.loads((out / "meta" / "info.json").read_text())
    return {"seconds": seconds, "cpu": _children_cpu() - before, "rss_mb": float(done.stdout.split()[-1]),
            "frames": info["total_frames"]}


def _cpu(value: float, jobs: int, *, ratio: bool = False) -> str:
    """CPU of worker processes is not visible to this process (they are forkserver children): n/a with -j > 1."""
    if jobs > 1:
        return f"{'n/a':>9}" if ratio else f"{'n/a':>7}"
    return f"{value:9.2f}" if ratio else f"{value:7.1f}"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def limit(recording: Path, codec: str, frames: int, episodes: int, parallel: int) -> dict[str, float]:
    """Decode + encode only, in a fresh process: ``episodes`` episodes of ``frames`` frames, ``parallel`` at a time."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import convert; convert._limit_main()"
    args = [str(recording), codec, str(frames), str(episodes), str(parallel)]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"limit failed:\n{done.stderr}")
    seconds, cpu, rss = done.stdout.split()[-3:]
    return {"seconds": float(seconds), "cpu": float(cpu), "rss_mb": float(rss)}


def _limit_main() -> None:
    import tempfile

    recording, codec, frames, episodes, parallel = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
    jpegs, raws = _load_frames(Path(recording), frames)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(parallel) as pool:
        started, cpu = time.monotonic(), time.process_time()
        list(pool.map(lambda e: _decode_encode(Path(tmp) / str(e), codec, jpegs, raws, frames), range(episodes)))
        seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    print(seconds, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _load_frames(recording: Path, frames: int) -> tuple[list[bytes], list[bytes]]:
    """The JPEG payloads of the first ``frames`` compressed frames and RAW_FRAMES raw frames' pixels."""
    from roboflow.decode import decoder_for
    from roboflow.sources import open_source

    jpegs: list[bytes] = []
    raws: list[bytes] = []
    topics = ["/cam_high/image_raw/compressed", "/cam_wrist/image_raw"]
    with open_source(recording) as source:
        for raw in source.messages(topics=topics):
            msg = decoder_for(raw.channel)(raw.data)
            if raw.topic == topics[0] and len(jpegs) < frames:
                jpegs.append(bytes(msg.data))  # type: ignore[attr-defined]
            elif raw.topic == topics[1] and len(raws) < RAW_FRAMES:
                raws.append(bytes(msg.data))  # type: ignore[attr-defined]
            if len(jpegs) >= frames and len(raws) >= RAW_FRAMES:
                break
    return jpegs, raws


def _decode_encode(workdir: Path, codec: str, jpegs: list[bytes], raws: list[bytes], frames: int) -> None:
    """One episode: both cameras decoded and encoded, one encoder thread per camera (plain PyAV)."""
    import av
    import numpy as np
    import simplejpeg

    from roboflow.media.settings import VideoSettings

    settings = VideoSettings(**json.loads(_settings_json(codec)))
    workdir.mkdir(parents=True)

    def camera(name: str, decode) -> None:  # type: ignore[no-untyped-def]
        with av.open(str(workdir / f"{name}.mp4"), mode="w") as container:
            stream = container.add_stream(settings.spec.encoder, rate=30, options=settings.encoder_options())
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
            for k in range(frames):
                frame = av.VideoFrame.from_ndarray(decode(k), format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))

    threads = [
        threading.Thread(target=camera, args=("jpeg", lambda k: simplejpeg.decode_jpeg(jpegs[k % len(jpegs)]))),
        threading.Thread(target=camera, args=("raw", lambda k: np.frombuffer(raws[k % len(raws)], np.uint8)
                                              .reshape(480, 640, 3))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _settings_json(codec: str) -> str:
    if codec == "libx264":
        return json.dumps({"codec": "libx264", "crf": 23, "preset": "veryfast", "gop": 2})
    return json.dumps({"codec": codec, "preset": "12"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length (default 60)")
    parser.add_argument("--codec", choices=sorted(CODECS), action="append", help="default: libsvtav1 and libx264")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/roboflow-bench"))
    parser.add_argument("--batch", type=int, default=4, help="recordings in the -j 2 batch (default 4)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    recording = workload(args.workdir, args.seconds)
    batch = []
    for i in range(args.batch):
        link = args.workdir / f"batch-{args.seconds:g}s" / f"rec{i}.mcap"
        link.parent.mkdir(exist_ok=True)
        if not link.exists():
            os.link(recording, link)
        batch.append(link)
    size_mb = recording.stat().st_size / 1e6
    print(f"workload: {recording.name}, {size_mb:.0f} MB, {args.seconds:g} s, 2 cameras 640x480 @ 30 fps, "
          f"JointState 200 Hz x 14, action 50 Hz; machine: {os.cpu_count()} cores")
    print(f"{'codec':10} {'job':22} {'wall s':>7} {'frames/s':>9} {'in MB/s':>8} {'RSS MB':>7} "
          f"{'limit s':>8} {'limit RSS':>9} {'ratio':>6} {'cpu s':>7} {'limit cpu':>9} {'cpu ratio':>9}")
    for codec in args.codec or ["libsvtav1", "libx264"]:
        config = args.workdir / f"{codec}.toml"
        config.write_text(CONFIG.format(video=CODECS[codec]))
        for name, inputs, jobs in (("1 recording, -j 1", [recording], 1),
                                   (f"{len(batch)} recordings, -j 2", batch, 2)):
            result = run_convert(inputs, config, args.workdir / "out", jobs)
            episodes = len(inputs)
            reference = limit(recording, codec, int(result["frames"]) // episodes, episodes, jobs)
            ratio = reference["seconds"] / result["seconds"]
            print(f"{codec:10} {name:22} {result['seconds']:7.1f} {result['frames'] / result['seconds']:9.1f} "
                  f"{size_mb * episodes / result['seconds']:8.1f} {result['rss_mb']:7.0f} "
                  f"{reference['seconds']:8.1f} {reference['rss_mb']:9.0f} {ratio:6.2f} {_cpu(result['cpu'], jobs)} "
                  f"{reference['cpu']:9.1f} {_cpu(reference['cpu'] / result['cpu'], jobs, ratio=True)}")
    shutil.rmtree(args.workdir / "out", ignore_errors=True)


if __name__ == "__main__":
    main()
