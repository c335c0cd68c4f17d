"""Video encoding straight from memory (PyAV), one encoder thread per camera."""

from __future__ import annotations

from roboflow.media.settings import CODECS, VideoSettings

__all__ = ["CODECS", "VideoSettings"]
