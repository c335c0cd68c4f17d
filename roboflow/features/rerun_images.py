"""Rerun image rows (``Image``, ``EncodedImage``, ``DepthImage``, decoded by :mod:`roboflow.decode.rerun`) -> frames.

A Rerun ``Image`` is a pixel buffer with an ``ImageFormat``: either a color model (L, RGB, RGBA, BGR, BGRA) with a
channel datatype (u8 ... f64), or a pixel format (NV12, YUY2, planar Y_U_V 4:2:0/4:2:2/4:4:4, Y8, Bayer). Color
models become numpy views; pixel formats go through FFmpeg's swscale (PyAV). One-channel 16-bit and float images
(and every ``DepthImage``) are depth or IR data: like ROS ``mono16``/``32FC1`` they are scaled by the mapping's
``depth_max`` in the image's own units (``DepthImage:meter`` units per meter, shown by ``inspect``). Color images of
16-bit channels keep their top 8 bits; float color images are taken as Rerun shows them, 0..1. A
``VideoFrameReference`` row shows the frame of its entity's static ``AssetVideo`` closest to its timestamp
(:class:`~roboflow.media.asset.AssetVideo`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import av
import numpy as np

from roboflow.errors import SourceError
from roboflow.media.asset import AssetVideo

__all__ = ["COLOR_MODELS", "RerunImage", "rerun_encoding"]

#: Rerun ColorModel value -> (name, channels).
COLOR_MODELS = {1: ("l", 1), 2: ("rgb", 3), 3: ("rgba", 4), 4: ("bgr", 3), 5: ("bgra", 4)}
#: Rerun ChannelDatatype value -> numpy dtype.
_DATATYPES = {6: "u1", 7: "i1", 8: "<u2", 9: "<i2", 10: "<u4", 11: "<i4", 12: "<u8", 13: "<i8", 33: "<f2",
              34: "<f4", 35: "<f8"}
#: Rerun PixelFormat value -> (name, FFmpeg pixel format).
_PIXEL_FORMATS = {
    20: ("Y_U_V12_LimitedRange", "yuv420p"), 44: ("Y_U_V12_FullRange", "yuvj420p"),
    49: ("Y_U_V16_LimitedRange", "yuv422p"), 50: ("Y_U_V16_FullRange", "yuvj422p"),
    39: ("Y_U_V24_LimitedRange", "yuv444p"), 40: ("Y_U_V24_FullRange", "yuvj444p"),
    26: ("NV12", "nv12"), 27: ("YUY2", "yuyv422"), 30: ("Y8_FullRange", "gray"), 41: ("Y8_LimitedRange", "gray"),
    128: ("BayerRGGB8", "bayer_rggb8"), 129: ("BayerBGGR8", "bayer_bggr8"), 130: ("BayerGBRG8", "bayer_gbrg8"),
    131: ("BayerGRBG8", "bayer_grbg8"),
}

Error = Callable[[int, str], SourceError]
Depth = Callable[[np.ndarray, str, int], np.ndarray]
Compressed = Callable[[dict[str, Any], int], np.ndarray]


def rerun_encoding(fmt: dict[str, Any]) -> str:
    """A short name of an ``ImageFormat``: ``rgb``, ``l u16``, ``NV12`` (what ``inspect`` shows)."""
    model = COLOR_MODELS.get(fmt.get("color_model") or 0)
    dtype = _DATATYPES.get(fmt.get("channel_datatype") or 0)
    if model is not None:
        name = model[0]
        return name if dtype in (None, "u1") else f"{name} {np.dtype(dtype).name.replace('uint', 'u')}"
    pixel = _PIXEL_FORMATS.get(fmt.get("pixel_format") or 0)
    if pixel is not None:
        return pixel[0]
    if dtype is not None:  # a DepthImage: a datatype, no color model
        return np.dtype(dtype).name
    return f"pixel_format {fmt.get('pixel_format')}"


class RerunImage:
    """Turns one decoded Rerun image row into a uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray frame.

    Args:
        error: ``error(time_ns, message)`` for a frame that cannot be read.
        depth: ``depth(values, what, time_ns)`` scales depth values by the mapping's ``depth_max``.
        compressed: ``compressed({"data", "format"}, time_ns)`` decodes a JPEG or PNG blob.
    """

    def __init__(self, error: Error, depth: Depth, compressed: Compressed) -> None:
        self._error = error
        self._depth = depth
        self._compressed = compressed
        self._asset: tuple[Any, AssetVideo] | None = None  #: the asset video's blob and its reader

    def __call__(self, row: dict[str, Any], time_ns: int) -> np.ndarray:
        if row.get("VideoFrameReference:timestamp") is not None:
            return self._referenced(row, time_ns)
        if row.get("EncodedImage:blob") is not None:
            return self._compressed({"data": row["EncodedImage:blob"],
                                     "format": row.get("EncodedImage:media_type") or ""}, time_ns)
        for archetype in ("DepthImage", "Image"):
            buffer, fmt = row.get(f"{archetype}:buffer"), row.get(f"{archetype}:format")
            if buffer is not None and isinstance(fmt, dict):
                return self._pixels(np.asarray(buffer, np.uint8).reshape(-1), fmt, archetype == "DepthImage",
                                    time_ns)
        raise self._error(time_ns, "row has no image buffer (a static or partial row?)")

    def _referenced(self, row: dict[str, Any], time_ns: int) -> np.ndarray:
        """The frame of the entity's AssetVideo that a VideoFrameReference row names."""
        blob = row.get("AssetVideo:blob")
        if blob is None:
            elsewhere = row.get("VideoFrameReference:video_reference")
            raise self._error(time_ns, f"VideoFrameReference to {elsewhere} (an AssetVideo on another entity)"
                              if elsewhere else "VideoFrameReference without an AssetVideo on its entity")
        at = int(np.asarray(row["VideoFrameReference:timestamp"]).reshape(-1)[0])
        try:
            if self._asset is None or self._asset[0] is not blob:
                self._asset = (blob, AssetVideo(np.asarray(blob, np.uint8).tobytes()))
            rgb: np.ndarray = self._asset[1].frame(at).to_ndarray(format="rgb24")
        except SourceError as err:
            raise self._error(time_ns, err.message) from err
        return rgb

    def _pixels(self, data: np.ndarray, fmt: dict[str, Any], depth: bool, time_ns: int) -> np.ndarray:
        width, height = int(fmt.get("width") or 0), int(fmt.get("height") or 0)
        if fmt.get("pixel_format") is not None:
            return self._pixel_format(data, int(fmt["pixel_format"]), width, height, time_ns)
        dtype = _DATATYPES.get(fmt.get("channel_datatype") or 0)
        model = COLOR_MODELS.get(fmt.get("color_model") or 1)
        if dtype is None or model is None:
            raise self._error(time_ns, f"unsupported Rerun image format {fmt}")
        name, channels = model
        pixels = self._view(data, np.dtype(dtype), (height, width, channels), time_ns)
        if depth or channels == 1 and pixels.dtype != np.uint8:
            what = f"{'DepthImage' if depth else 'Image l'} {pixels.dtype.name}"
            return self._depth(pixels[:, :, 0], what, time_ns)
        pixels = _to_u8(pixels)
        if channels == 1:
            return pixels[:, :, 0]
        return pixels[:, :, 2::-1] if name.startswith("bgr") else pixels[:, :, :3]

    def _view(self, data: np.ndarray, dtype: np.dtype[Any], shape: tuple[int, int, int], time_ns: int) -> np.ndarray:
        needed = shape[0] * shape[1] * shape[2] * dtype.itemsize
        if min(shape) <= 0 or data.size < needed:
            raise self._error(time_ns, f"image of {shape[1]}x{shape[0]}x{shape[2]} {dtype.name} needs {needed} bytes, "
                                       f"the row has {data.size}")
        return data[:needed].view(dtype).reshape(shape)

    def _pixel_format(self, data: np.ndarray, code: int, width: int, height: int, time_ns: int) -> np.ndarray:
        if code not in _PIXEL_FORMATS:
            raise self._error(time_ns, f"unsupported Rerun pixel format {code}")
        name, ffmpeg = _PIXEL_FORMATS[code]
        try:
            frame = av.VideoFrame(width, height, ffmpeg)
        except (ValueError, av.FFmpegError) as err:
            raise self._error(time_ns, f"{name} image of {width}x{height}: {err}") from err
        offset = 0
        for index, plane in enumerate(frame.planes):
            rows, row_bytes = plane.height, _row_bytes(ffmpeg, index, plane.width)
            if data.size < offset + rows * row_bytes:
                raise self._error(time_ns, f"{name} image of {width}x{height} needs more than the row's "
                                           f"{data.size} bytes")
            target = np.frombuffer(memoryview(plane), np.uint8).reshape(rows, plane.line_size)
            target[:, :row_bytes] = data[offset:offset + rows * row_bytes].reshape(rows, row_bytes)
            offset += rows * row_bytes
        if ffmpeg == "gray":
            gray: np.ndarray = frame.to_ndarray()
            if name == "Y8_LimitedRange":
                gray = np.clip((gray.astype(np.float32) - 16.0) * (255.0 / 219.0), 0, 255).round().astype(np.uint8)
            return gray
        rgb: np.ndarray = frame.reformat(format="rgb24").to_ndarray()
        return rgb


def _row_bytes(ffmpeg: str, index: int, plane_width: int) -> int:
    """Bytes of one row of a plane (packed formats hold several bytes per pixel)."""
    if ffmpeg == "yuyv422" or (ffmpeg == "nv12" and index == 1):  # YUYV pairs; NV12's interleaved UV plane
        return plane_width * 2
    return plane_width


def _to_u8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    out: np.ndarray
    if pixels.dtype.kind == "f":
        scaled = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0) * 255.0
        out = np.clip(scaled, 0, 255).round().astype(np.uint8)
    elif pixels.dtype.kind in "iu" and pixels.dtype.itemsize > 1:
        shift = 8 * (pixels.dtype.itemsize - 1)
        out = (np.clip(pixels, 0, None).astype(np.uint64) >> np.uint64(shift)).astype(np.uint8)
    else:
        out = np.clip(pixels, 0, 255).astype(np.uint8)  # i8
    return out
