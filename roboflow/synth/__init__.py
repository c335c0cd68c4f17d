"""Realistic synthetic recordings with a known ground truth (``roboflow synth``).

``write_recording(path, SynthSpec(...), format)`` writes MCAP, ROS1 bag, rosbag2 (sqlite3, mcap) or Rerun RRD;
:mod:`roboflow.synth.truth` gives the values every message holds, as pure functions of time.
"""

from __future__ import annotations

from roboflow.synth.formats import FORMAT_NAMES, FORMATS
from roboflow.synth.generate import SynthManifest, TopicManifest, write_recording
from roboflow.synth.spec import CameraSpec, ImageKind, SynthSpec
from roboflow.synth.timeline import stream_times

__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "CameraSpec",
    "ImageKind",
    "SynthManifest",
    "SynthSpec",
    "TopicManifest",
    "stream_times",
    "write_recording",
]
