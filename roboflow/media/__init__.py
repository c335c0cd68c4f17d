"""Video encoding straight from memory (PyAV), one encoder thread per camera."""

from __future__ import annotations

from roboflow.media.encoder import VideoEncoder
from roboflow.media.frames import PixelLayout, frame_layout, to_video_frame
from roboflow.media.probe import video_frame_count, video_info
from roboflow.media.settings import CODECS, VideoSettings
from roboflow.media.worker import EncoderThread

__all__ = [
    "CODECS",
    "EncoderThread",
    "PixelLayout",
    "VideoEncoder",
    "VideoSettings",
    "frame_layout",
    "to_video_frame",
    "video_frame_count",
    "video_info",
]
