"""One camera of an episode written from video packets, without re-encoding when it can be.

Packets are copied into the episode's mp4 while its frames are exactly the topic's consecutive messages: the
first a keyframe, each next one the message after the previous (each used once, in order). A frame that breaks
this (a held or skipped message: a dropped frame, a different rate) turns the episode's camera to decode +
encode: the frames copied so far are decoded back from the copy and re-encoded, then every later frame is
decoded from its GOP; the reason is logged once per episode and camera and kept in :attr:`reason`. Frames that
are not packets (a codec lerobot does not decode) never come here: the plan decodes those.
"""

from __future__ import annotations

import logging
from pathlib import Path

from roboflow.lerobot.spec import CameraFeature
from roboflow.media.encoder import VideoEncoder
from roboflow.media.packets import GopDecoder, PacketMuxer, VideoPacket
from roboflow.media.probe import open_video
from roboflow.media.settings import VideoSettings
from roboflow.media.worker import EncoderThread

__all__ = ["LONG_GOP_S", "PassthroughCamera"]

log = logging.getLogger(__name__)

#: A copied stream with keyframes further apart than this is slow to read at random (lerobot's loaders decode
#: from the keyframe before each frame they want): warned about.
LONG_GOP_S = 2.0


class PassthroughCamera:
    """Write one camera's frames, given as :class:`VideoPacket` s, into ``path``.

    Args:
        path: The episode's mp4 of this camera.
        feature: The camera.
        fps: Dataset frame rate.
        video: Encoder settings, for an episode that cannot be copied.
        queue_frames: Frames that may wait for the encoder then.
    """

    def __init__(self, path: Path, feature: CameraFeature, fps: int, video: VideoSettings, queue_frames: int
                 ) -> None:
        self.path = path
        self.feature = feature
        self.reason: str | None = None
        self._fps = fps
        self._video = video
        self._queue_frames = queue_frames
        self._muxer: PacketMuxer | None = None
        self._encoder: EncoderThread | None = None
        self._decoder = GopDecoder()
        self._last: VideoPacket | None = None
        self._longest_gop = 0

    def add(self, packet: VideoPacket) -> None:
        """Append the frame of ``packet``.

        Raises:
            DatasetError: Writing, decoding or encoding failed.
        """
        if self._encoder is None:
            why = self._why_not(packet)
            if why is None:
                if self._muxer is None:
                    self._muxer = PacketMuxer(self.path, packet, self._fps)
                self._muxer.mux(packet)
                self._last = packet
                self._longest_gop = max(self._longest_gop, packet.position + 1)
                return
            self._fall_back(why, packet.codec)
        assert self._encoder is not None
        self._encoder.put(self._decoder.decode(packet))

    def finish(self) -> int:
        """Complete the file; the number of frames."""
        if self._encoder is not None:
            return self._encoder.wait()
        if self._longest_gop > LONG_GOP_S * self._fps:
            log.warning("%s: packets copied with keyframes up to %d frames apart (%.1f s): each random frame access "
                        "in lerobot decodes up to that many frames; set passthrough = false to re-encode with "
                        "[video] gop", self.feature.key, self._longest_gop, self._longest_gop / self._fps)
        return self._muxer.close() if self._muxer is not None else 0

    def abort(self) -> None:
        """Stop and delete the file (idempotent)."""
        if self._encoder is not None:
            self._encoder.abort()
        if self._muxer is not None:
            self._muxer.abort()

    def _why_not(self, packet: VideoPacket) -> str | None:
        """Why ``packet`` cannot be copied as the next frame, or None."""
        frame = self._muxer.frames if self._muxer is not None else 0
        if self._last is None:
            return None if packet.keyframe else f"frame 0 is message {packet.seq}, not a keyframe"
        if packet.seq == self._last.seq:
            return f"frame {frame} repeats message {packet.seq} (the camera is slower than fps, or skipped)"
        if packet.seq != self._last.seq + 1:
            return (f"frame {frame} is message {packet.seq} after message {self._last.seq} (the dataset fps is "
                    "below the camera's, or frames were dropped)")
        return None

    def _fall_back(self, why: str, codec: str) -> None:
        """Re-encode from here on, with the stream's codec so that the dataset's feature keeps one codec (the
        ``[video]`` settings when they name it, else that codec's defaults)."""
        self.reason = why
        log.warning("%s: packets not copied in this episode, re-encoded instead: %s", self.feature.key, why)
        copied = self.path.with_name(self.path.stem + ".copied.mp4")
        if self._muxer is not None:
            self._muxer.close()
            self.path.replace(copied)
        settings = self._video
        if settings.spec.canonical != codec:
            settings = VideoSettings(codec=codec, gop=settings.gop, pix_fmt=settings.pix_fmt)
        encoder = VideoEncoder(self.path, width=self.feature.width, height=self.feature.height, fps=self._fps,
                               settings=settings)
        self._encoder = EncoderThread(encoder, queue_frames=self._queue_frames, name=self.feature.key)
        if self._muxer is not None:
            try:
                with open_video(copied) as (container, stream):
                    for frame in container.decode(stream):
                        self._encoder.put(frame)
            finally:
                copied.unlink(missing_ok=True)
            self._muxer = None
        self._last = None
