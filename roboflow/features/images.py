"""Camera messages -> frames the episode writer takes (uint8 RGB ``(H, W, 3)`` or gray ``(H, W)``).

Handles sensor_msgs/Image (and foxglove RawImage) in every common encoding, sensor_msgs/CompressedImage (and
foxglove CompressedImage) in JPEG and PNG, including ``compressedDepth``, and Rerun ``Image``/``EncodedImage``/
``DepthImage`` rows (:mod:`roboflow.features.rerun_images`). Raw frames are numpy views on the
message buffer where the layout allows (rgb8, mono8, bgr8 as a reversed view); JPEG goes through simplejpeg (a
libjpeg-turbo binding), PNG and Bayer/YUV demosaicing through PyAV (FFmpeg).

16-bit and float frames (depth, IR) cannot go into an 8-bit video as they are; they are scaled to 8-bit gray
when the mapping sets ``depth_max`` (value mapped to 255) and refused with a clear error otherwise.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import simplejpeg

from roboflow.errors import ConfigError, SourceError
from roboflow.features.rerun_images import RerunImage
from roboflow.features.types import DEPTH_ENCODINGS, image_kind

__all__ = ["DEPTH_ENCODINGS", "RAW_ENCODINGS", "ImageDecoder"]

#: Raw encodings -> (numpy dtype, channels).
RAW_ENCODINGS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3), "bgr8": ("u1", 3), "8UC3": ("u1", 3),
    "rgba8": ("u1", 4), "bgra8": ("u1", 4), "8UC4": ("u1", 4),
    "mono8": ("u1", 1), "8UC1": ("u1", 1),
    "mono16": ("u2", 1), "16UC1": ("u2", 1),
    "32FC1": ("f4", 1),
    "bayer_rggb8": ("u1", 1), "bayer_bggr8": ("u1", 1), "bayer_gbrg8": ("u1", 1), "bayer_grbg8": ("u1", 1),
    "bayer_rggb16": ("u2", 1), "bayer_bggr16": ("u2", 1), "bayer_gbrg16": ("u2", 1), "bayer_grbg16": ("u2", 1),
    "yuv422": ("u1", 2), "uyvy": ("u1", 2), "yuv422_yuy2": ("u1", 2), "yuyv": ("u1", 2),
}

_SWSCALE_FORMATS = {"yuv422": "uyvy422", "uyvy": "uyvy422", "yuv422_yuy2": "yuyv422", "yuyv": "yuyv422"}

@dataclass(frozen=True, slots=True)
class _Where:
    topic: str

    def error(self, time_ns: int, message: str, hint: str | None = None) -> SourceError:
        return SourceError(f"{self.topic} at t={time_ns / 1e9:.6f} s: {message}", hint=hint)


class ImageDecoder:
    """Decodes the frames of one camera topic; one instance per topic.

    Args:
        topic: Topic name, for messages.
        type_name: The message type (see :func:`image_kind`).
        depth_max: For 16-bit/float frames: the value shown as white when scaling to 8-bit gray.
    """

    def __init__(self, topic: str, type_name: str, depth_max: float | None = None) -> None:
        kind = image_kind(type_name)
        if kind is None:
            raise ConfigError(f"{topic}: type {type_name} does not carry images")
        self.kind = kind
        self.where = _Where(topic)
        self.depth_max = depth_max
        self._rerun = RerunImage(self.where.error, self._depth, self._compressed) if kind == "rerun" else None

    def __call__(self, msg: Any, time_ns: int) -> np.ndarray:
        """The frame of ``msg`` as uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray."""
        if self.kind == "raw":
            return self._raw(msg, time_ns)
        if self._rerun is not None:
            return self._rerun(msg, time_ns)
        return self._compressed(msg, time_ns)

    def _raw(self, msg: Any, time_ns: int) -> np.ndarray:
        height, width, step = int(_get(msg, "height")), int(_get(msg, "width")), int(_get(msg, "step"))
        encoding = str(_get(msg, "encoding"))
        big_endian = bool(_get(msg, "is_bigendian", False))
        data = _bytes(_get(msg, "data"))
        if encoding not in RAW_ENCODINGS:
            raise self.where.error(time_ns, f"unsupported image encoding '{encoding}'",
                                   hint=f"supported: {', '.join(RAW_ENCODINGS)}")
        dtype, channels = RAW_ENCODINGS[encoding]
        itemsize = np.dtype(dtype).itemsize
        row = width * channels * itemsize
        if step == 0:
            step = row
        if height <= 0 or width <= 0 or step < row or data.size < step * (height - 1) + row:
            raise self.where.error(
                time_ns,
                f"{encoding} image header says {width}x{height} (step {step}), which needs "
                f"{step * (height - 1) + row if height > 0 else 0} bytes, but the message has {data.size}",
                hint="the recording's image data is truncated or its header is wrong",
            )
        rows = np.lib.stride_tricks.as_strided(data, shape=(height, row), strides=(step, 1), writeable=False)
        order = ">" if big_endian else "<"
        pixels = rows.view(f"{order}{dtype}").reshape(height, width, channels)
        if encoding in DEPTH_ENCODINGS:
            return self._depth(pixels[:, :, 0], encoding, time_ns)
        if encoding.startswith("bayer_") or encoding in _SWSCALE_FORMATS:
            return _swscale(rows, encoding, width, height, big_endian)
        if encoding in ("bgr8", "8UC3", "bgra8"):
            return pixels[:, :, 2::-1]
        if channels == 4:
            return pixels[:, :, :3]
        if channels == 1:
            return pixels[:, :, 0]
        return pixels

    def _compressed(self, msg: Any, time_ns: int) -> np.ndarray:
        data = _bytes(_get(msg, "data")).tobytes()
        fmt = str(_get(msg, "format", "")).lower()
        if "compresseddepth" in fmt:
            depth = self._png_decode(data[12:], time_ns)  # 12-byte compressedDepth config header, then PNG
            return self._depth(depth if depth.ndim == 2 else depth[:, :, 0], fmt, time_ns)
        if data[:2] == b"\xff\xd8":
            try:
                return _jpeg(data)
            except ValueError as err:
                raise self.where.error(time_ns, f"corrupt JPEG ({len(data)} bytes): {err}",
                                       hint="the image data is truncated or damaged") from err
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            image = self._png_decode(data, time_ns)
            if image.dtype != np.uint8:
                return self._depth(image if image.ndim == 2 else image[:, :, 0], "16-bit png", time_ns)
            return image
        raise self.where.error(
            time_ns, f"compressed image ({len(data)} bytes, format '{fmt}') is neither JPEG nor PNG",
        )

    def _png_decode(self, data: bytes, time_ns: int) -> np.ndarray:
        # A fresh context per image: FFmpeg's PNG decoder reused across images of one size decodes the second
        # and later ones wrong (it keeps state of the previous picture).
        try:
            frames = av.CodecContext.create("png", "r").decode(av.Packet(data))
        except av.FFmpegError as err:
            raise self.where.error(time_ns, f"corrupt PNG ({len(data)} bytes): {err}",
                                   hint="the image data is truncated or damaged") from err
        if not frames:
            raise self.where.error(time_ns, f"PNG of {len(data)} bytes decoded to nothing")
        frame = frames[0]
        name = frame.format.name
        fmt = "gray" if name in ("gray", "gray8") else "gray16le" if name.startswith("gray16") else "rgb24"
        image: np.ndarray = frame.to_ndarray(format=fmt)
        return image

    def _depth(self, values: np.ndarray, encoding: str, time_ns: int) -> np.ndarray:
        if self.depth_max is None:
            raise ConfigError(
                f"{self.where.topic}: {encoding} frames are depth/16-bit data, which an 8-bit LeRobot video "
                "cannot hold",
                hint="set depth_max in this mapping to store them as 8-bit gray (value/depth_max*255), "
                "or leave the topic out",
            )
        scaled = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        scaled *= 255.0 / self.depth_max
        return np.clip(scaled, 0, 255).astype(np.uint8)


def _jpeg(data: bytes) -> np.ndarray:
    gray = simplejpeg.decode_jpeg_header(data)[2] == "Gray"
    image: np.ndarray = simplejpeg.decode_jpeg(data, colorspace="GRAY" if gray else "RGB")
    return image[:, :, 0] if gray else image


def _swscale(rows: np.ndarray, encoding: str, width: int, height: int, big_endian: bool) -> np.ndarray:
    """Demosaic Bayer or convert packed YUV 4:2:2 with FFmpeg's swscale."""
    if encoding in _SWSCALE_FORMATS:
        fmt = _SWSCALE_FORMATS[encoding]
    else:
        fmt = encoding.replace("16", "16be" if big_endian else "16le")
    frame = av.VideoFrame(width, height, fmt)
    plane = frame.planes[0]
    target = np.frombuffer(memoryview(plane), np.uint8).reshape(height, plane.line_size)
    target[:, : rows.shape[1]] = rows
    rgb: np.ndarray = frame.reformat(format="rgb24").to_ndarray()
    return rgb


def _get(msg: Any, name: str, default: Any = None) -> Any:
    if isinstance(msg, dict):
        return msg.get(name, default)
    return getattr(msg, name, default)


def _bytes(data: Any) -> np.ndarray:
    """A message's ``data`` as a uint8 array without copying (JSON messages carry base64 text)."""
    if isinstance(data, np.ndarray):
        return data.view(np.uint8).reshape(-1)
    if isinstance(data, str):
        data = base64.b64decode(data)
    return np.frombuffer(data, np.uint8)
