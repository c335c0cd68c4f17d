"""Cameras recorded as video: re-encoding vs its decode+encode limit, pass-through, and random access cost.

Workload (generated once by ``roboflow.synth`` into ``--workdir`` and reused): one MCAP of 60 s with two 640x480
h264 cameras at 30 fps (foxglove CompressedVideo, protobuf, a keyframe every 30 frames), JointState at 200 Hz and
an action at 50 Hz. Measured, each in a fresh process:

* ``roboflow convert`` re-encoding the cameras (libx264 veryfast crf 23 gop 2, the default), against the limit
  measured in the same run: every packet of both cameras decoded (one stateful decoder each) and every frame
  encoded with the same settings (as frames without a picture type, like the converter's), one thread per
  camera, packets loaded into memory first - what a converter cannot avoid. ``ratio = limit time / convert
  time`` (goal >= 0.8), in wall time and in CPU seconds (steadier on a machine shared with other work);
* ``roboflow convert`` with ``[video] passthrough = true``: speed-up over re-encoding (goal >= 20x) and peak RSS
  (goal < 300 MB). Both commands are timed whole, process start included; the start-up alone (a process importing
  the convert command) is measured too and the speed-up is also printed without it; the same recording
  converted without its cameras gives what the cameras alone cost each way (pass-through still decodes
  lerobot's number of sample frames per camera for the image stats);
* random access as lerobot's loaders do it (seek to the keyframe at or before the frame, decode up to it): mean
  ms per random frame of the copied video (the camera's keyframe interval) and of the re-encoded one (gop 2).

Run: ``python3.11 bench/video_cameras.py [--seconds 60] [--workdir /tmp/roboflow-bench]``
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from convert import run_convert

CAMERAS = ("front", "wrist")
GOP = 30
CONFIG = """
[dataset]
name = "bench"
fps = 30
task = "bench"
robot_type = "synthbot"
[[mappings]]
topic = "/front/video"
feature = "observation.images.front"
mapping_type = "image"
[[mappings]]
topic = "/wrist/video"
feature = "observation.images.wrist"
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
codec = "libx264"
crf = 23
preset = "veryfast"
gop = 2
passthrough = {passthrough}
"""


def workload(workdir: Path, seconds: float) -> Path:
    from roboflow.synth import CameraSpec, ImageKind, SynthSpec, write_recording

    path = workdir / f"video-{seconds:g}s.mcap"
    if not path.exists():
        started = time.monotonic()
        cameras = tuple(CameraSpec(name, ImageKind.H264) for name in CAMERAS)
        write_recording(path, SynthSpec(duration_s=seconds, cameras=cameras, video_gop=GOP))
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s")
    return path


def startup() -> float:
    """Seconds for a fresh process to import the convert command (part of every convert time above)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import roboflow.cli.convert, roboflow.pipeline"], check=True)
    return time.monotonic() - started


def limit(recording: Path) -> dict[str, float]:
    """Decode every packet + encode every frame of both cameras, in a fresh process."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import video_cameras as v; v._limit_main()"
    done = subprocess.run([sys.executable, "-c", code, str(recording)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"limit failed:\n{done.stderr}")
    seconds, cpu, rss = done.stdout.split()[-3:]
    return {"seconds": float(seconds), "cpu": float(cpu), "rss_mb": float(rss)}


def _limit_main() -> None:
    import tempfile

    from roboflow.decode import decoder_for
    from roboflow.sources import open_source

    packets: dict[str, list[bytes]] = {f"/{name}/video": [] for name in CAMERAS}
    with open_source(Path(sys.argv[1])) as source:
        for raw in source.messages(topics=list(packets)):
            packets[raw.topic].append(bytes(decoder_for(raw.channel)(raw.data).data))  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu = time.monotonic(), time.process_time()
        threads = [threading.Thread(target=_decode_encode, args=(data, Path(tmp) / f"{n}.mp4"))
                   for n, data in enumerate(packets.values())]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(time.monotonic() - started, time.process_time() - cpu,
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _decode_encode(packets: list[bytes], path: Path) -> None:
    import av

    from roboflow.media.settings import VideoSettings

    settings = VideoSettings(codec="libx264", crf=23, preset="veryfast", gop=2)
    decoder = av.CodecContext.create("h264", "r")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(settings.spec.encoder, rate=30, options=settings.encoder_options())
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for data in packets:
            for frame in decoder.decode(av.Packet(data)):
                frame.pts = None
                # A decoded frame carries its picture type (I/P) and libx264 obeys it: the encoder would follow
                # the source's GOP and skip its own frame type decisions, 20% less work than the converter does
                # (its frames come from arrays, typeless)
                frame.pict_type = av.video.frame.PictureType.NONE
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def random_access_ms(video: Path, samples: int = 60) -> float:
    """Mean ms to get one random frame: seek to the keyframe at or before it, decode up to it (lerobot's way)."""
    import av

    rng = random.Random(0)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        base = Fraction(stream.time_base or Fraction(1, 1))
        count = stream.frames
        started = time.perf_counter()
        for _ in range(samples):
            target = rng.randrange(count)
            container.seek(int(Fraction(target, 30) / base), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is not None and round(frame.pts * base * 30) >= target:
                    break
        return (time.perf_counter() - started) / samples * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length (default 60)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/roboflow-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    recording = workload(args.workdir, args.seconds)
    runs = {}
    for passthrough in (False, True):
        config = args.workdir / f"video-passthrough-{str(passthrough).lower()}.toml"
        config.write_text(CONFIG.format(passthrough=str(passthrough).lower()))
        runs[passthrough] = run_convert([recording], config, args.workdir / f"video-out-{passthrough}", 1)
    config = args.workdir / "video-no-cameras.toml"
    blocks = CONFIG.format(passthrough="false").split("[[mappings]]")
    config.write_text("[[mappings]]".join(b for b in blocks if 'mapping_type = "image"' not in b))
    bare = run_convert([recording], config, args.workdir / "video-out-bare", 1)
    bound = limit(recording)
    start = startup()
    encode, copy = runs[False], runs[True]
    size = recording.stat().st_size / 1e6
    print(f"workload: {args.seconds:g} s, 2 h264 cameras 640x480 @ 30 fps (keyframe every {GOP}), {size:.0f} MB, "
          f"{encode['frames']:.0f} dataset frames")
    print(f"{'job':<26}{'seconds':>9}{'CPU s':>8}{'frames/s':>10}{'peak RSS MB':>13}")
    jobs = (("decode+encode limit", bound), ("convert, re-encode", encode), ("convert, pass-through", copy),
            ("convert, no cameras", bare))
    for name, run in jobs:
        print(f"{name:<26}{run['seconds']:9.2f}{run['cpu']:8.1f}{encode['frames'] / run['seconds']:10.0f}"
              f"{run['rss_mb']:13.0f}")
    print(f"re-encode ratio (limit / convert): {bound['seconds'] / encode['seconds']:.2f} wall, "
          f"{bound['cpu'] / encode['cpu']:.2f} CPU (goal >= 0.8)")
    print(f"pass-through speed-up over re-encoding: {encode['seconds'] / copy['seconds']:.1f}x (goal >= 20x); "
          f"without the {start:.1f} s process start-up: {(encode['seconds'] - start) / (copy['seconds'] - start):.1f}x; "
          f"peak RSS {copy['rss_mb']:.0f} MB (goal < 300)")
    print(f"the cameras alone (convert minus the no-camera run): re-encoding {encode['cpu'] - bare['cpu']:.1f} CPU s, "
          f"pass-through {copy['cpu'] - bare['cpu']:.1f} CPU s, "
          f"{(encode['cpu'] - bare['cpu']) / max(copy['cpu'] - bare['cpu'], 0.01):.1f}x less")
    for name, passthrough, gop in (("pass-through", True, GOP), ("re-encoded", False, 2)):
        video = args.workdir / f"video-out-{passthrough}/videos/observation.images.front/chunk-000/file-000.mp4"
        print(f"random frame access, {name} (keyframe every {gop}): {random_access_ms(video):.1f} ms per frame")


if __name__ == "__main__":
    main()
