"""``roboflow synth``: write a realistic recording whose content is known exactly."""

from __future__ import annotations

import re
from pathlib import Path

import click

from roboflow.errors import ConfigError
from roboflow.synth import FORMAT_NAMES, SynthSpec, write_recording
from roboflow.synth.spec import parse_cameras

__all__ = ["synth"]

_DEFAULT = SynthSpec()
_DEFAULT_CAMERAS = ",".join(f"{camera.name}:{camera.kind.value}" for camera in _DEFAULT.cameras)
_CAMERA = _DEFAULT.cameras[0]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("output", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMAT_NAMES)),
    help="Output format. Default: from OUTPUT: .mcap -> mcap, .bag -> ros1, .rrd -> rrd (Rerun), no suffix -> "
    "ros2-sqlite3 (a rosbag2 directory).",
)
@click.option(
    "--compression",
    help="mcap: zstd (default), lz4, none; ros1: none (default), bz2, lz4; ros2-sqlite3: none (default), "
    "zstd-message, zstd-file; ros2-mcap: zstd (chunks, default), none, zstd-message, zstd-file.",
)
@click.option("--duration", type=float, default=_DEFAULT.duration_s, show_default=True, help="Seconds.")
@click.option(
    "--cameras",
    default=_DEFAULT_CAMERAS,
    show_default=True,
    help="Comma-separated NAME:KIND[:WxH][@FPS]; KIND jpeg (CompressedImage), rgb8 (Image), h264, h265, av1 "
    "(foxglove CompressedVideo; a Rerun VideoStream in .rrd), ffmpeg_h264, ffmpeg_h265 (FFMPEGPacket), image_h264 (CompressedImage in "
    "h264); 'none' for none.",
)
@click.option("--gop", type=int, default=_DEFAULT.video_gop, show_default=True,
              help="Keyframe interval of video cameras, in frames.")
@click.option("--size", default=f"{_CAMERA.width}x{_CAMERA.height}", show_default=True, help="Camera WxH.")
@click.option("--fps", type=float, default=_CAMERA.fps, show_default=True, help="Camera frame rate.")
@click.option(
    "--joint-rate", type=float, default=_DEFAULT.joint_rate_hz, show_default=True, help="JointState Hz."
)
@click.option("--joints", type=int, default=_DEFAULT.n_joints, show_default=True, help="Number of joints.")
@click.option(
    "--action-rate", type=float, default=_DEFAULT.action_rate_hz, show_default=True, help="Action Hz."
)
@click.option(
    "--jitter",
    type=float,
    default=_DEFAULT.jitter,
    show_default=True,
    help="Timing noise as a fraction of each stream's period, in [0, 0.5).",
)
@click.option("--seed", type=int, default=_DEFAULT.seed, show_default=True, help="Seed of the timing noise.")
@click.option(
    "--start",
    "start_ns",
    type=int,
    default=_DEFAULT.start_time_ns,
    show_default=True,
    help="Start, epoch ns.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def synth(
    output: Path,
    fmt: str | None,
    compression: str | None,
    duration: float,
    cameras: str,
    size: str,
    fps: float,
    gop: int,
    joint_rate: float,
    joints: int,
    action_rate: float,
    jitter: float,
    seed: int,
    start_ns: int,
    overwrite: bool,
) -> None:
    """Write a realistic robot recording to OUTPUT, with a ground truth tests can check.

    By default: 2 cameras at 640x480 and 30 fps (one JPEG sensor_msgs/CompressedImage, one raw rgb8
    sensor_msgs/Image), sensor_msgs/JointState of 14 joints at 200 Hz on /joint_states and a
    std_msgs/Float64MultiArray action at 50 Hz on /action, with header stamps (capture time), later log
    times (receive time) and seeded jitter. Joint values are known functions of the header stamp and each
    image encodes its frame number (see roboflow.synth.truth and docs/synth.md).

    \b
    Examples:
      roboflow synth demo.mcap
      roboflow synth demo.bag --compression lz4 --duration 10
      roboflow synth demo.rrd
      roboflow synth demo_bag --format ros2-mcap --cameras front:jpeg,wrist:rgb8:320x240@15
      roboflow synth video.mcap --cameras front:h264,wrist:h264 --gop 30
    """
    width, height = _size(size)
    spec = SynthSpec(
        duration_s=duration,
        cameras=parse_cameras(cameras, width=width, height=height, fps=fps),
        joint_rate_hz=joint_rate,
        n_joints=joints,
        action_rate_hz=action_rate,
        jitter=jitter,
        seed=seed,
        start_time_ns=start_ns,
        video_gop=gop,
    )
    manifest = write_recording(output, spec, fmt, compression=compression, overwrite=overwrite)
    click.echo(
        f"wrote {manifest.path} ({manifest.format}, {manifest.compression}): {len(manifest.topics)} topics, "
        f"{manifest.message_count} messages, {spec.duration_s:g} s, {manifest.bytes_written / 1e6:.1f} MB "
        f"in {manifest.seconds:.1f} s ({manifest.mb_per_s:.0f} MB/s)"
    )


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise ConfigError(f"bad size {text!r}", hint="write WIDTHxHEIGHT, e.g. 640x480")
    return int(match[1]), int(match[2])
