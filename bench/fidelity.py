"""Stale frames, quality and speed of each encoder setting, on content that trips encoders up.

Each case (see :mod:`roboflow.synth.scenes`) is encoded with each setting through the writer's own encoder
(:func:`roboflow.media.fidelity.measure`), decoded with PyAV and compared with its source:

* ``stale``: 32x32 blocks whose source changed by more than 6 grey levels but which decode as the previous
  frame (at least twice as close to it as to the current one), of all changed blocks; must be 0;
* ``frames``: frames with a stale block, of the frames that have a previous one;
* ``min dB``: the lowest per-frame PSNR; ``enc fps``: encoder frames per second (one camera; the encoders use
  both cores); ``kB/fr``: mp4 bytes per frame.

Cases: ``pan`` (textured scene panning, a disc crossing it), ``flat-region`` (a 128x128 square on the 64-px
superblock grid changing grey level in place on a camera-like background, sensor noise sigma 2), ``grid``
(4x3 flat black/white cells flipping, 320x240), ``wall`` (lighting ramp on a flat wall), ``real-camera`` (the
flat square on a real RealSense colour frame, noise sigma 3). All 640x480 at 30 fps except ``grid``.

The summary ranks settings: stale blocks over all cases, and speed and size relative to lerobot's setting
(geometric mean over cases); ``*`` marks the writer's default.

Run: ``python3.11 bench/fidelity.py [--frames N] [--repeat 1] [--case NAME] [--setting NAME]``
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np

from roboflow.decode import decoder_for
from roboflow.features import ImageDecoder
from roboflow.media.fidelity import Fidelity, measure
from roboflow.media.settings import VideoSettings
from roboflow.sources import open_source
from roboflow.synth.scenes import camera_background, flat_grid, flat_region, textured_pan, wall_lighting

FPS = 30
WIDTH, HEIGHT = 640, 480
#: A real RealSense D435 colour frame (640x480 rgb8); see shared/data/recordings/README.md.
RECORDING = (
    Path(__file__).resolve().parents[2] / "shared/data/recordings/librealsense/single_depth_color_640x480.bag"
)
COLOUR_TOPIC = "/device_0/sensor_1/Color_0/image/data"


def is_default(settings: VideoSettings) -> bool:
    """Whether ``settings`` give the encoder what the writer's default settings give it."""
    default = VideoSettings()
    return (settings.spec, settings.encoder_options()) == (default.spec, default.encoder_options())


LEROBOT = "svtav1-p12"
#: name -> (label, settings). lerobot 0.4's encoder settings first.
SETTINGS: dict[str, tuple[str, VideoSettings]] = {
    LEROBOT: (
        "libsvtav1 p12 crf30 g2 (lerobot)",
        VideoSettings(codec="libsvtav1", preset="12", crf=30, gop=2),
    ),
    "svtav1-p10": ("libsvtav1 p10 crf30 g2", VideoSettings(codec="libsvtav1", preset="10", crf=30, gop=2)),
    "svtav1-p9": ("libsvtav1 p9 crf30 g2", VideoSettings(codec="libsvtav1", preset="9", crf=30, gop=2)),
    "svtav1-p8": ("libsvtav1 p8 crf30 g2", VideoSettings(codec="libsvtav1", preset="8", crf=30, gop=2)),
    "x264-veryfast": (
        "libx264 veryfast crf23 g2",
        VideoSettings(codec="libx264", preset="veryfast", crf=23, gop=2),
    ),
    "x264-ultrafast": (
        "libx264 ultrafast crf23 g2",
        VideoSettings(codec="libx264", preset="ultrafast", crf=23, gop=2),
    ),
    "x265-ultrafast": (
        "libx265 ultrafast crf28 g2",
        VideoSettings(codec="libx265", preset="ultrafast", crf=28, gop=2),
    ),
}
if not any(is_default(settings) for _, settings in SETTINGS.values()):  # always measure what the writer does
    SETTINGS["default"] = ("default", VideoSettings())


def real_frame() -> np.ndarray:
    """The colour frame of :data:`RECORDING`, read with the project's source and image decoder."""
    with open_source(RECORDING) as source:
        channel = next(c for c in source.channels if c.topic == COLOUR_TOPIC)
        type_name = channel.schema.name if channel.schema else "sensor_msgs/msg/Image"
        decode, image = decoder_for(channel), ImageDecoder(channel.topic, type_name)
        message = next(iter(source.messages([COLOUR_TOPIC])))
        return image(decode(message.data), message.log_time)


#: name -> (frames by default, clip of n frames).
CASES: dict[str, tuple[int, Callable[[int], list[np.ndarray]]]] = {
    "pan": (60, lambda n: textured_pan(n, WIDTH, HEIGHT)),
    "flat-region": (60, lambda n: flat_region(n, camera_background(WIDTH, HEIGHT), x=256, y=192)),
    "grid": (360, lambda n: flat_grid(n)),
    "wall": (60, lambda n: wall_lighting(n, WIDTH, HEIGHT)),
    "real-camera": (60, lambda n: flat_region(n, real_frame(), x=256, y=192, sigma=3.0)),
}


def run(frames: list[np.ndarray], settings: VideoSettings, repeat: int) -> Fidelity:
    """Measure ``repeat`` times: median speed, worst stale counts (multi-threaded encoders may vary)."""
    runs = [measure(frames, settings, fps=FPS) for _ in range(repeat)]
    worst = max(runs, key=lambda r: r.stale_blocks)
    return Fidelity(
        frames=worst.frames,
        changed_blocks=worst.changed_blocks,
        stale_blocks=worst.stale_blocks,
        stale_frames=worst.stale_frames,
        min_psnr=min(r.min_psnr for r in runs),
        encode_fps=statistics.median(r.encode_fps for r in runs),
        bytes_per_frame=worst.bytes_per_frame,
    )


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, help="frames per case (default: 60, grid 360)")
    parser.add_argument("--repeat", type=int, default=1, help="encodes per measurement; median speed printed")
    parser.add_argument("--case", action="append", choices=list(CASES), help="default: all")
    parser.add_argument("--setting", action="append", choices=list(SETTINGS), help="default: all")
    args = parser.parse_args()
    names = args.setting or list(SETTINGS)
    if LEROBOT not in names:
        names.insert(0, LEROBOT)  # the reference of the summary
    results: dict[str, dict[str, Fidelity]] = {name: {} for name in names}
    print(
        f"{'case':<12} {'setting':<34} {'stale':>10} {'frames':>8} {'min dB':>7} {'enc fps':>8} {'kB/fr':>7}"
    )
    for case in args.case or list(CASES):
        count, clip = CASES[case]
        if case == "real-camera" and not RECORDING.is_file():
            print(f"{case:<12} skipped: {RECORDING} not found")
            continue
        frames = clip(args.frames or count)
        for name in names:
            label, settings = SETTINGS[name]
            result = results[name][case] = run(frames, settings, args.repeat)
            mark = "*" if is_default(settings) else " "
            print(
                f"{case:<12} {mark}{label:<33} {f'{result.stale_blocks}/{result.changed_blocks}':>10} "
                f"{f'{result.stale_frames}/{result.frames - 1}':>8} {result.min_psnr:>7.1f} "
                f"{result.encode_fps:>8.0f} {result.bytes_per_frame / 1000:>7.1f}",
                flush=True,
            )
    print(f"\n{'setting':<35} {'stale':>7} {'clean cases':>12} {'x speed':>8} {'x size':>7}")
    reference = results[LEROBOT]
    for name in names:
        label, settings = SETTINGS[name]
        cases = results[name]
        speed = _geomean([cases[c].encode_fps / reference[c].encode_fps for c in cases])
        size = _geomean([cases[c].bytes_per_frame / reference[c].bytes_per_frame for c in cases])
        clean = sum(1 for r in cases.values() if r.stale_blocks == 0)
        mark = "*" if is_default(settings) else " "
        stale = sum(r.stale_blocks for r in cases.values())
        print(f"{mark}{label:<34} {stale:>7} {f'{clean}/{len(cases)}':>12} {speed:>8.2f} {size:>7.2f}")


if __name__ == "__main__":
    main()
