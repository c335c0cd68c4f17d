"""One mp4 file, one video stream, encoded frame by frame with PyAV (no ffmpeg process, no image files).

Frame k is stamped ``pts = k`` in a codec time base of ``1/fps``; the stream (container) time base is
``1/(fps * 1024)``, lerobot's choice, so every presentation time is exactly ``k / fps``. Like lerobot's, the
file has its index at the front (:data:`MP4_OPTIONS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import av

from roboflow.errors import DatasetError
from roboflow.media.hardware import resolve_encoder
from roboflow.media.settings import VideoSettings

__all__ = ["MP4_OPTIONS", "TIME_BASE_MULTIPLIER", "VideoEncoder"]

#: The stream time base is 1 / (fps * TIME_BASE_MULTIPLIER).
TIME_BASE_MULTIPLIER = 1024

#: mp4 muxer options of every video we write: the index (``moov``) goes before the media data when the file
#: is closed (lerobot's ``movflags=faststart``), so a player or an HTTP range reader (Hub, S3) can start
#: without fetching the end of the file first. The muxer rewrites the file once on close (about 2 ms for an
#: 8 MB file).
MP4_OPTIONS: Mapping[str, str] = MappingProxyType({"movflags": "+faststart"})

# SVT-AV1 prints a configuration banner for every encoder it opens unless told otherwise (1 = errors only).
os.environ.setdefault("SVT_LOG", "1")


class VideoEncoder:
    """Encode frames into one mp4 file, synchronously (see :class:`EncoderThread` for a thread).

    Args:
        path: The mp4 file to write (its directory must exist; an existing file is replaced).
        width: Frame width.
        height: Frame height.
        fps: Frame rate; frame k is shown at k/fps.
        settings: Codec, crf, preset, gop, pix_fmt, threads; ``codec = "auto"`` is resolved here
            (:func:`~roboflow.media.hardware.resolve_encoder`, cached per process).

    Raises:
        DatasetError: The encoder cannot be opened with these settings.
    """

    def __init__(self, path: Path, *, width: int, height: int, fps: int, settings: VideoSettings) -> None:
        settings = resolve_encoder(settings).settings
        self.path = path
        self.frames = 0
        self._fps = fps
        self._closed = False
        if not path.parent.is_dir():  # the muxer opens the file only with the first packet
            raise DatasetError("cannot create video: its directory does not exist", path=str(path))
        try:
            self._container = av.open(str(path), mode="w", format="mp4", container_options=dict(MP4_OPTIONS))
        except (av.FFmpegError, OSError) as err:
            raise DatasetError(f"cannot create video: {err}", path=str(path)) from err
        try:
            stream = self._container.add_stream(
                settings.spec.encoder, rate=fps, options=settings.encoder_options()
            )
            assert isinstance(stream, av.video.stream.VideoStream)
            stream.width = width
            stream.height = height
            stream.pix_fmt = settings.input_pix_fmt
            stream.codec_context.time_base = Fraction(1, fps)
            stream.time_base = Fraction(1, fps * TIME_BASE_MULTIPLIER)
        except (av.FFmpegError, ValueError) as err:
            self._container.close()
            path.unlink(missing_ok=True)
            raise DatasetError(
                f"cannot open encoder {settings.spec.encoder}: {err}",
                path=str(path),
                hint="check [video] options",
            ) from err
        self._stream = stream

    def encode(self, frame: av.VideoFrame) -> None:
        """Encode the next frame (any pixel format; PyAV converts it to the stream's).

        Raises:
            DatasetError: The encoder or the muxer failed.
        """
        frame.pts = self.frames
        frame.time_base = self._stream.codec_context.time_base
        try:
            self._container.mux(self._stream.encode(frame))
        except (av.FFmpegError, ValueError) as err:
            raise DatasetError(
                f"video encoding failed at frame {self.frames}: {err}", path=str(self.path)
            ) from err
        self.frames += 1

    def close(self) -> int:
        """Flush the encoder, write the mp4 trailer and return the number of frames (idempotent).

        Raises:
            DatasetError: Flushing or writing the file failed.
        """
        if not self._closed:
            self._closed = True
            try:
                self._container.mux(self._stream.encode(None))
                self._container.close()
            except (av.FFmpegError, OSError, ValueError) as err:
                raise DatasetError(f"cannot finish video: {err}", path=str(self.path)) from err
        return self.frames

    def abort(self) -> None:
        """Stop without flushing and delete the file (idempotent; never raises for a broken encoder)."""
        if not self._closed:
            self._closed = True
            try:
                if self.frames:
                    self._stream.encode(
                        None
                    )  # end of stream, packets dropped (SVT-AV1 logs an error without)
                self._container.close()
            except (av.FFmpegError, OSError, ValueError):
                pass  # the file is deleted below; a failing close has nothing left to tell
        self.path.unlink(missing_ok=True)
