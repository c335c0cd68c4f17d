"""Camera frames as they arrive (numpy arrays) and what the encoder and the stats need from them.

Three in-memory layouts are accepted for a camera of ``height`` x ``width``:

* ``RGB``: ``(height, width, 3)`` uint8, the usual case;
* ``YUV420``: ``(height * 3 // 2, width)`` uint8, planar yuv420p (limited range) as PyAV lays it out
  (``VideoFrame.to_ndarray(format="yuv420p")``). Goes to the encoder without any colour conversion, e.g.
  a JPEG decoded straight to YUV (PyAV's mjpeg decoder, then ``reformat(format="yuv420p")``);
* ``GRAY``: ``(height, width)`` or ``(height, width, 1)`` uint8, stored as a 3-channel video.

16-bit frames (depth) are refused: an 8-bit video cannot hold them.
"""

from __future__ import annotations

from enum import Enum

import av
import numpy as np

from roboflow.errors import DatasetError

__all__ = [
    "PixelLayout",
    "frame_copy",
    "frame_layout",
    "freeze",
    "is_frozen",
    "kept_frame",
    "thumbnail",
    "thumbnail_rgb",
    "to_video_frame",
    "video_frame_thumbnail",
    "wrap_frame",
]


_PIXEL = np.dtype((np.void, 3))
#: ``AVColorRange`` JPEG (full range) and the ``AVColorSpace`` values swscale converts with BT.601 coefficients
#: (unspecified, BT.470BG, SMPTE 170M).
_FULL_RANGE = 2
_BT601 = frozenset({2, 5, 6})
#: Bytes beyond twice a frame's own that the memory of a kept frame may hold (a message's header, say).
_SLACK = 64 * 1024


class PixelLayout(str, Enum):
    """How a frame's pixels are laid out in its array (see the module docstring)."""

    RGB = "rgb24"
    YUV420 = "yuv420p"
    GRAY = "gray"


def frame_layout(array: np.ndarray, height: int, width: int, *, name: str = "camera") -> PixelLayout:
    """Recognise the layout of a frame of a ``height`` x ``width`` camera.

    Raises:
        DatasetError: Wrong dtype (16-bit depth included) or a shape matching no layout.
    """
    if array.dtype != np.uint8:
        raise DatasetError(
            f"{name}: frames must be uint8, got {array.dtype}",
            hint="16-bit depth cannot be stored in a LeRobot video; leave it out or scale it to 8-bit gray",
        )
    shape = array.shape
    if shape == (height, width, 3):
        return PixelLayout.RGB
    if shape in ((height, width), (height, width, 1)):
        return PixelLayout.GRAY
    if shape == (height * 3 // 2, width):
        return PixelLayout.YUV420
    raise DatasetError(
        f"{name}: frame of shape {shape} matches no layout of a {width}x{height} camera",
        hint=f"pass ({height}, {width}, 3) RGB, ({height}, {width}) gray or ({height * 3 // 2}, {width}) yuv420p",
    )


def frame_copy(array: np.ndarray, layout: PixelLayout) -> np.ndarray:
    """A private, C-contiguous copy of a frame (gray squeezed to 2-D), ready for :func:`wrap_frame`."""
    return np.array(array[:, :, 0] if layout is PixelLayout.GRAY and array.ndim == 3 else array, order="C")


def kept_frame(array: np.ndarray, layout: PixelLayout) -> np.ndarray:
    """A frame to keep until it is encoded: ``array`` itself when nothing can change it any more, its memory is
    not much more than the frame (not a whole chunk of a recording kept alive by it) and it is laid out as
    :func:`wrap_frame` needs; else :func:`frame_copy`.

    A raw camera's frame is usually a read-only view of the message it came in; copying it (a fresh 0.9 MB
    allocation per 640x480 frame, page faults included) took a fifth of the converting thread's time.
    """
    data = array[:, :, 0] if layout is PixelLayout.GRAY and array.ndim == 3 else array
    owner = _frozen_owner(data) if data.flags.c_contiguous else None
    if owner is not None and (len(owner) if isinstance(owner, bytes) else owner.nbytes) <= 2 * data.nbytes + _SLACK:
        return data
    return frame_copy(array, layout)


def freeze(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only together with the arrays it views, so that :func:`is_frozen` holds when its
    memory is an array's own; only for arrays their maker hands over and no longer touches (a decoder's)."""
    owner: object = array
    while isinstance(owner, np.ndarray):
        owner.flags.writeable = False
        owner = owner.base
    return array


def is_frozen(array: np.ndarray) -> bool:
    """Whether ``array``'s values can no longer change: it is read-only and its memory is an immutable
    ``bytes`` object (a view of a message) or its own (an array nobody may make writeable again).

    A read-only view of a writeable array or buffer is not frozen: its owner can still write.
    """
    return _frozen_owner(array) is not None


def _frozen_owner(array: np.ndarray) -> bytes | np.ndarray | None:
    """The object whose memory a frozen ``array`` (:func:`is_frozen`) is, None when ``array`` is not frozen."""
    if array.flags.writeable:
        return None
    owner: object = array
    while True:
        if isinstance(owner, bytes):
            return owner
        if isinstance(owner, np.ndarray) and owner.base is None:
            return None if owner.flags.writeable else owner
        base = owner.obj if isinstance(owner, memoryview) else getattr(owner, "base", None)
        if base is None:
            return None
        owner = base


def wrap_frame(data: np.ndarray, layout: PixelLayout) -> av.VideoFrame:
    """A PyAV frame over ``data`` itself, no copy: ``data`` must stay unchanged until it is encoded."""
    return av.VideoFrame.from_numpy_buffer(data, format=layout.value)


def to_video_frame(array: np.ndarray, layout: PixelLayout) -> av.VideoFrame:
    """A PyAV frame over a private copy of ``array`` (the caller may reuse its buffer at once); one copy."""
    return wrap_frame(frame_copy(array, layout), layout)


def thumbnail(array: np.ndarray, layout: PixelLayout, stride: int) -> np.ndarray:
    """Pixels ``[::stride, ::stride]`` of a frame, ``(ceil(h/stride), ceil(w/stride), 3)`` uint8, in the frame's
    colour space: RGB for RGB and gray frames (gray repeated), Y, U, V for yuv420p frames (each pixel with the
    chroma sample that covers it). :func:`thumbnail_rgb` makes them RGB; gathering first and converting
    later lets a caller convert only the thumbnails it keeps.
    """
    if layout is PixelLayout.RGB:
        if array.strides[1:] == (3, 1):  # gather whole pixels as 3-byte items: twice as fast
            pixels = np.ascontiguousarray(array.view(_PIXEL)[:, :, 0][::stride, ::stride])
            return pixels.view(np.uint8).reshape(*pixels.shape, 3)
        return np.ascontiguousarray(array[::stride, ::stride])
    if layout is PixelLayout.GRAY:
        gray = array.reshape(array.shape[0], array.shape[1])[::stride, ::stride]
        return np.repeat(gray[:, :, None], 3, axis=2)
    height = array.shape[0] * 2 // 3
    width = array.shape[1]
    chroma = array[height:].reshape(2, height // 2, width // 2)
    return _yuv_thumbnail(array[:height], chroma[0], chroma[1], stride)


def video_frame_thumbnail(frame: av.VideoFrame, stride: int) -> np.ndarray:
    """RGB pixels ``[::stride, ::stride]`` of a decoded frame, as ``frame.to_ndarray(format="rgb24")[::stride,
    ::stride]`` within a level or two: a limited-range BT.601 yuv420p frame (a camera's) is sampled in its planes
    and only the samples are converted (:func:`thumbnail_rgb`), five times less work than converting the frame."""
    if frame.format.name != "yuv420p" or frame.color_range == _FULL_RANGE or frame.colorspace not in _BT601:
        rgb: np.ndarray = frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(rgb[::stride, ::stride])
    y, u, v = (np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
               for plane in frame.planes)
    return thumbnail_rgb(_yuv_thumbnail(y, u, v, stride), PixelLayout.YUV420)


def _yuv_thumbnail(y: np.ndarray, u: np.ndarray, v: np.ndarray, stride: int) -> np.ndarray:
    """Y, U, V of pixels ``[::stride, ::stride]`` of a 4:2:0 frame, each pixel with the chroma sample covering it."""
    height, width = y.shape
    if stride % 2 == 0:  # the chroma rows and columns of pixel rows 0, s, 2s, ... are 0, s/2, s, ...
        grid: tuple[slice | np.ndarray, ...] = (slice(None, None, stride // 2),) * 2
    else:
        grid = np.ix_(np.arange(0, height, stride) // 2, np.arange(0, width, stride) // 2)
    return np.stack([y[::stride, ::stride], u[grid], v[grid]], axis=2)


def thumbnail_rgb(pixels: np.ndarray, layout: PixelLayout) -> np.ndarray:
    """RGB of a :func:`thumbnail` of a frame of ``layout``: as it is, or for yuv420p converted with BT.601
    limited-range coefficients (the inverse of what swscale applies to RGB input)."""
    if layout is not PixelLayout.YUV420:
        return pixels
    yuv = pixels.astype(np.float32) - np.array([16.0, 128.0, 128.0], dtype=np.float32)
    y, u, v = 1.164383 * yuv[..., 0], yuv[..., 1], yuv[..., 2]
    rgb = np.stack([y + 1.596027 * v, y - 0.391762 * u - 0.812968 * v, y + 2.017232 * u], axis=-1)
    return np.asarray(np.clip(np.rint(rgb), 0, 255), dtype=np.uint8)
