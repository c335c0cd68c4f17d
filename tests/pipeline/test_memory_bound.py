"""Peak memory does not depend on the length of the recording.

A 180 s recording (2 cameras at 160x120, 30 fps: ~600 MB of decoded frames) and a 20 s one of the same shape are
converted in fresh processes, in this test; the long one's peak RSS is within a fixed ratio of the short one's
(holding its frames, or anything of kilobytes per frame, would take several times more). bench/memory.py measures
the same for recordings of up to an hour.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline_readback import SYNTH_MAPPINGS

from roboflow.synth import CameraSpec, SynthSpec, write_recording

CAMERAS = (CameraSpec("cam_high", "jpeg", 160, 120), CameraSpec("cam_wrist", "rgb8", 160, 120))
CONFIG = (
    """
[dataset]
name = "mem"
fps = 30
"""
    + SYNTH_MAPPINGS
    + """
[video]
codec = "libx264"
preset = "ultrafast"
[flushing]
max_frames_per_chunk = 200
max_memory_bytes = 67108864
"""
)
#: Peak RSS is read from VmHWM, which belongs to this process image: getrusage's ru_maxrss survives exec and
#: would report the (large) pytest parent's peak instead of the conversion's.
MEASURE = """
import re, sys
from roboflow.cli import main
try:
    main(sys.argv[1:])
except SystemExit as end:
    assert not end.code, end.code
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""
#: How much more peak RSS the 9x longer recording may take (measured: within 2%).
RATIO = 1.10


def peak_rss_mb(recording: Path, config: Path, out: Path) -> int:
    args = ["convert", str(recording), "-c", str(config), "-o", str(out)]
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, check=True,
                          timeout=300)
    return int(done.stdout.strip().splitlines()[-1])


def test_peak_rss_does_not_grow_with_recording_length(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    write_recording(tmp_path / "short.mcap", SynthSpec(duration_s=20, cameras=CAMERAS))
    write_recording(tmp_path / "long.mcap", SynthSpec(duration_s=180, cameras=CAMERAS))
    assert (tmp_path / "long.mcap").stat().st_size > 250 * 1024**2
    short = peak_rss_mb(tmp_path / "short.mcap", config, tmp_path / "short_out")
    long = peak_rss_mb(tmp_path / "long.mcap", config, tmp_path / "long_out")
    assert long <= short * RATIO, f"peak RSS {short} MiB (20 s) -> {long} MiB (180 s)"
