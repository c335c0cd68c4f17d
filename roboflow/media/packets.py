"""Video packets carried as they are: the record a pass-through camera frame is, its muxer and its decoder.

A :class:`VideoPacket` keeps the packets of its GOP (from the keyframe up to itself), so that a frame can still
be decoded later when pass-through turns out impossible for an episode (:class:`GopDecoder`).
:class:`PacketMuxer` writes packets into an mp4 without decoding: frame ``k`` at ``k / fps`` in the same time
base as the encoder's files, the parameter sets of the first keyframe as the stream's extradata.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from roboflow.errors import DatasetError
from roboflow.media.bitstream import DECODERS, parameter_sets
from roboflow.media.encoder import MP4_OPTIONS, TIME_BASE_MULTIPLIER

__all__ = ["PASSTHROUGH_CODECS", "GopDecoder", "PacketMuxer", "VideoPacket", "open_decoder"]

#: Codecs whose packets go into a dataset's mp4 as they are: those lerobot decodes.
PASSTHROUGH_CODECS = ("h264", "hevc", "av1")


def open_decoder(codec: str) -> Any:
    """An FFmpeg decoder of ``codec`` that returns each frame for its own packet (no B-frames: no delay)."""
    context: Any = av.CodecContext.create(DECODERS[codec], "r")
    if codec == "av1":
        context.options = {"max_frame_delay": "1"}  # libdav1d buffers frames otherwise
    return context


@dataclass(frozen=True, slots=True, eq=False)
class VideoPacket:
    """Message ``seq`` of a video topic, kept encoded.

    Attributes:
        seq: Number of the message in its topic (consecutive messages have consecutive numbers).
        codec: ``h264``, ``hevc`` or ``av1``.
        keyframe: Whether decoding can start here.
        width: Frame width of the stream.
        height: Frame height.
        gop: The packets from the last keyframe on (shared by the packets of one GOP; grows as it comes).
        position: Index of this packet in ``gop``.
    """

    seq: int
    codec: str
    keyframe: bool
    width: int
    height: int
    gop: list[bytes]
    position: int

    @property
    def data(self) -> bytes:
        return self.gop[self.position]


class PacketMuxer:
    """Writes one camera's packets into an mp4, frame ``k`` at ``k / fps``.

    Raises:
        DatasetError: The file cannot be created or written.
    """

    def __init__(self, path: Path, first: VideoPacket, fps: int) -> None:
        self.path = path
        self.frames = 0
        self._closed = False
        try:
            self._container: Any = av.open(str(path), mode="w", format="mp4", container_options=dict(MP4_OPTIONS))
            stream: Any = self._container.add_stream(first.codec)
            stream.width, stream.height, stream.pix_fmt = first.width, first.height, "yuv420p"
            stream.time_base = Fraction(1, fps * TIME_BASE_MULTIPLIER)
            extradata = parameter_sets(first.codec, first.data)
            if extradata:
                stream.codec_context.extradata = extradata
        except (av.FFmpegError, OSError, ValueError) as err:
            raise DatasetError(f"cannot create video for packet copy: {err}", path=str(path)) from err
        self._stream = stream

    def mux(self, packet: VideoPacket) -> None:
        out = av.Packet(packet.data)
        out.stream = self._stream
        out.time_base = self._stream.time_base
        out.pts = out.dts = self.frames * TIME_BASE_MULTIPLIER
        out.duration = TIME_BASE_MULTIPLIER
        out.is_keyframe = packet.keyframe
        try:
            self._container.mux(out)
        except (av.FFmpegError, ValueError) as err:
            raise DatasetError(f"copying packet {self.frames} failed: {err}", path=str(self.path)) from err
        self.frames += 1

    def close(self) -> int:
        """Write the trailer (idempotent); the number of frames."""
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except (av.FFmpegError, OSError) as err:
                raise DatasetError(f"cannot finish video: {err}", path=str(self.path)) from err
        return self.frames

    def abort(self) -> None:
        """Close without caring and delete the file (idempotent)."""
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass  # the file is deleted below
        self.path.unlink(missing_ok=True)


class GopDecoder:
    """Decodes :class:`VideoPacket` s in any order: continues within a GOP, restarts at its keyframe otherwise."""

    def __init__(self) -> None:
        self._context: Any = None
        self._gop: list[bytes] | None = None
        self._next = 0  # next position of self._gop to feed

    def decode(self, packet: VideoPacket) -> av.VideoFrame:
        """The frame of ``packet``.

        Raises:
            DatasetError: The packets do not decode to a frame.
        """
        if self._gop is not packet.gop or packet.position < self._next or self._context is None:
            self._context = open_decoder(packet.codec)
            self._gop, self._next = packet.gop, 0
        frame = None
        try:
            while self._next <= packet.position:
                frames = self._context.decode(av.Packet(packet.gop[self._next]))
                self._next += 1
                frame = frames[-1] if frames else None
        except av.FFmpegError as err:
            raise DatasetError(f"packet {packet.seq} does not decode: {err}") from err
        if frame is None:
            raise DatasetError(f"packet {packet.seq} decodes to no frame")
        decoded: av.VideoFrame = frame
        return decoded
