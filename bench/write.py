"""Episode writer vs. the encoder alone, on the standard workload.

Workload: 600 frames x 2 cameras 640x480 at 30 fps, 14-dim state and action. Frames are windows of a
textured scene panning 2 px per frame (generated, deterministic), so the encoders see natural-looking motion.

For each codec setting this prints, in one run:

* encode-only: the same frames, same codec options, straight through PyAV, one thread per camera (the limit);
* writer: :class:`roboflow.lerobot.episode.EpisodeWriter` (parquet rows, encoder threads, stats, probing);
* their ratio (goal: <= 1.10) in wall time and in CPU time (the CPU ratio is what the writer adds; it is
  less disturbed by other load on the machine), peak RSS of each (each run in a fresh process), and dropped
  frames (video frames missing against rows; must be 0).

The two jobs alternate (``--repeat`` times) so that both see the same machine load; medians are printed.

Run: ``python3.11 bench/write.py [--frames 600] [--repeat 1] [--codec libsvtav1 --codec libx264]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from roboflow.lerobot.episode import EpisodeWriter
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, FlushSettings, VectorFeature
from roboflow.media.probe import video_frame_count
from roboflow.media.settings import VideoSettings

FPS = 30
HEIGHT, WIDTH = 480, 640
CAMERAS = ("observation.images.front", "observation.images.wrist")
JOINTS = 14
SETTINGS = {
    "libsvtav1": VideoSettings(codec="libsvtav1", preset="12"),  # lerobot's settings: crf 30, g 2, preset 12
    "libx264": VideoSettings(codec="libx264", crf=23, preset="veryfast", gop=2),
}


def scene(camera: int) -> np.ndarray:
    """A 720x960 RGB texture: coarse colour blobs, finer detail and sensor-like noise."""
    rng = np.random.default_rng(camera)
    image = np.zeros((720, 960, 3), dtype=np.float32)
    for block, weight in ((120, 90.0), (24, 40.0), (6, 20.0)):
        coarse = rng.normal(size=(720 // block, 960 // block, 3)).astype(np.float32)
        image += weight * np.kron(coarse, np.ones((block, block, 1), dtype=np.float32))
    image += rng.normal(scale=4.0, size=image.shape).astype(np.float32)
    return np.asarray(np.clip(image + 128.0, 0, 255), dtype=np.uint8)


def frames(count: int) -> Iterator[tuple[int, list[np.ndarray]]]:
    """(k, [one 480x640x3 frame per camera]) for k < count; windows of each camera's scene, panning."""
    scenes = [scene(camera) for camera in range(len(CAMERAS))]
    for k in range(count):
        x = (2 * k) % 320
        x = x if (2 * k) // 320 % 2 == 0 else 320 - x
        y = (k // 2) % 240
        yield k, [s[y : y + HEIGHT, x : x + WIDTH] for s in scenes]


def encode_only(workdir: Path, count: int, settings: VideoSettings) -> list[int]:
    """Plain PyAV: frames from memory, through a bounded queue, into one encoder thread per camera.

    Returns the number of frames of each video.
    """
    containers, streams = [], []
    for camera in range(len(CAMERAS)):
        container = av.open(str(workdir / f"plain{camera}.mp4"), mode="w")
        stream = container.add_stream(settings.spec.encoder, rate=FPS, options=settings.encoder_options())
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, settings.pix_fmt
        stream.codec_context.time_base = Fraction(1, FPS)
        containers.append(container)
        streams.append(stream)
    queues: list[queue.Queue[av.VideoFrame | None]] = [queue.Queue(maxsize=16) for _ in CAMERAS]

    def run(camera: int) -> None:
        while (video_frame := queues[camera].get()) is not None:
            containers[camera].mux(streams[camera].encode(video_frame))
        containers[camera].mux(streams[camera].encode(None))
        containers[camera].close()

    threads = [threading.Thread(target=run, args=(camera,)) for camera in range(len(CAMERAS))]
    for thread in threads:
        thread.start()
    for k, images in frames(count):
        for camera, image in enumerate(images):
            video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            video_frame.pts = k
            queues[camera].put(video_frame)
    for camera_queue in queues:
        camera_queue.put(None)
    for thread in threads:
        thread.join()
    return [video_frame_count(workdir / f"plain{camera}.mp4") for camera in range(len(CAMERAS))]


def writer(workdir: Path, count: int, settings: VideoSettings) -> list[int]:
    """The episode writer on the same frames, plus 14-dim state and action. Returns frames per video."""
    names = tuple(f"joint_{j}" for j in range(JOINTS))
    spec = DatasetSpec(
        fps=FPS,
        robot_type="bench",
        vectors=(VectorFeature("observation.state", names), VectorFeature("action", names)),
        cameras=tuple(CameraFeature(key, HEIGHT, WIDTH) for key in CAMERAS),
    )
    with EpisodeWriter(workdir / "episode", spec, settings, FlushSettings()) as episode:
        for k, images in frames(count):
            joints = np.sin(np.arange(JOINTS) + k / FPS).astype(np.float32)
            episode.add_frame(
                {
                    "observation.state": joints,
                    "action": joints * 2,
                    **dict(zip(CAMERAS, images, strict=True)),
                },
                task="pick the cube",
            )
        result = episode.finish()
    return [video_frame_count(result.video_paths[key]) for key in CAMERAS]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(job: str, codec: str, count: int) -> tuple[float, float, int, list[int]]:
    """Run one job in this (fresh) process: wall and CPU seconds, peak RSS in MiB, frames per video."""
    with tempfile.TemporaryDirectory(prefix="bench-write-") as tmp:
        cpu, start = _cpu_seconds(), time.perf_counter()
        stored = (encode_only if job == "encode-only" else writer)(Path(tmp), count, SETTINGS[codec])
        elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    return elapsed, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per measurement, interleaved; medians printed"
    )
    parser.add_argument("--codec", action="append", choices=sorted(SETTINGS), help="default: all")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    print(
        f"{args.frames} frames x {len(CAMERAS)} cameras {WIDTH}x{HEIGHT} @ {FPS} fps, state/action {JOINTS}-dim"
    )
    print(
        f"{'codec':<10} {'job':<12} {'wall s':>7} {'x wall':>7} {'cpu s':>7} {'x cpu':>7} {'peak MiB':>9} {'dropped':>8}"
    )
    jobs = ("encode-only", "writer")
    for codec in args.codec or list(SETTINGS):
        runs: dict[str, list[tuple[float, float, int, list[int]]]] = {job: [] for job in jobs}
        for _ in range(args.repeat):  # alternate the two jobs so that both see the same machine load
            for job in jobs:
                with context.Pool(1) as pool:
                    runs[job].append(pool.apply(measure, (job, codec, args.frames)))
        wall = {job: statistics.median(r[0] for r in runs[job]) for job in jobs}
        cpu = {job: statistics.median(r[1] for r in runs[job]) for job in jobs}
        for job in jobs:
            rss = max(r[2] for r in runs[job])
            dropped = max(args.frames - min(r[3]) for r in runs[job])
            print(
                f"{codec:<10} {job:<12} {wall[job]:>7.2f} {wall[job] / wall['encode-only']:>7.3f} "
                f"{cpu[job]:>7.2f} {cpu[job] / cpu['encode-only']:>7.3f} {rss:>9} {dropped:>8}"
            )


if __name__ == "__main__":
    main()
