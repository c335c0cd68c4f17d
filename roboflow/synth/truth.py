"""Ground truth of synthetic recordings, as pure functions.

Times: every function takes ``t``, seconds since the recording's ``SynthSpec.start_time_ns``, as a float
or a NumPy array (results broadcast over ``t`` and ``joint``). Use :func:`seconds` to turn a stamp into ``t``.

* ``sensor_msgs/JointState`` values are exact functions of the message's ``header.stamp``:
  ``position[j] == joint_position(seconds(stamp), j)``, likewise velocity (the exact derivative) and effort.
* ``std_msgs/Float64MultiArray`` actions have no header; their values are exact functions of the message's
  log (receive) time: ``data[c] == action(seconds(log_time), c)``. The action leads the state:
  ``action(t, c) == joint_position(t + ACTION_LEAD_S, c)``.
* Camera frame ``k`` shows :func:`render_frame` ``(k, width, height, camera)``; its header stamp is within
  ``jitter / fps`` after ``start + k / fps`` (see :mod:`.timeline`). :func:`frame_number_from_image` reads
  ``k`` back from a decoded image, also after JPEG or lossy video coding and resizing.

A converter sampling frame ``k`` at ``t = k / fps`` from the nearest or last joint message sees a value
within ``MAX_JOINT_SPEED * dt`` of ``joint_position(t, j)``, ``dt`` the time to that message's stamp.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from roboflow.errors import SourceError

__all__ = [
    "ACTION_LEAD_S",
    "DEFAULT_START_NS",
    "MAX_CAMERAS",
    "MAX_FRAMES",
    "MAX_JOINT_SPEED",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "FramePattern",
    "PatternError",
    "PatternRenderer",
    "action",
    "decode_pattern",
    "frame_number_from_image",
    "joint_effort",
    "joint_position",
    "joint_positions",
    "joint_velocity",
    "render_frame",
    "seconds",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | int | npt.ArrayLike

#: 2024-03-09T16:00:00Z, the default recording start (ROS stamps are epoch nanoseconds).
DEFAULT_START_NS = 1_710_000_000_000_000_000
#: The action at t equals the joint positions at t + ACTION_LEAD_S.
ACTION_LEAD_S = 0.1
_TAU = 2.0 * np.pi
# Per-joint parameters are fractional parts of irrational multiples: distinct for every joint.
_MIN_FREQ_HZ, _FREQ_SPAN_HZ = 0.1, 0.5  # frequencies in [0.1, 0.6) Hz
_MIN_AMPLITUDE, _AMPLITUDE_SPAN = 0.3, 0.2  # amplitudes in [0.3, 0.5) rad
#: An upper bound of |d position / dt| over every joint, in rad/s.
MAX_JOINT_SPEED = (_MIN_AMPLITUDE + _AMPLITUDE_SPAN) * _TAU * (_MIN_FREQ_HZ + _FREQ_SPAN_HZ)


def seconds(stamp_ns: ArrayLike, start_time_ns: int = DEFAULT_START_NS) -> FloatArray:
    """Seconds since the recording start, computed exactly in integers before the division."""
    return np.asarray(np.asarray(stamp_ns, dtype=np.int64) - np.int64(start_time_ns), dtype=np.float64) / 1e9


def _frac(x: FloatArray) -> FloatArray:
    return np.asarray(x - np.floor(x), dtype=np.float64)


def _joint_parameters(joint: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    j = np.asarray(joint, dtype=np.float64)
    freq = _MIN_FREQ_HZ + _FREQ_SPAN_HZ * _frac(j * 0.6180339887498949)
    amplitude = _MIN_AMPLITUDE + _AMPLITUDE_SPAN * _frac(j * 0.7548776662466927 + 0.5)
    phase = _TAU * _frac(j * 0.5698402909980532)
    offset = _frac(j * 0.41421356237309515) - 0.5
    return freq, amplitude, phase, offset


def joint_position(t: ArrayLike, joint: ArrayLike) -> FloatArray:
    """Position of ``joint`` (rad) at ``t`` seconds: ``offset + amplitude * sin(2 pi f t + phase)``."""
    freq, amplitude, phase, offset = _joint_parameters(joint)
    return offset + amplitude * np.sin(_TAU * freq * np.asarray(t, dtype=np.float64) + phase)


def joint_velocity(t: ArrayLike, joint: ArrayLike) -> FloatArray:
    """Velocity of ``joint`` (rad/s) at ``t`` seconds: the exact derivative of :func:`joint_position`."""
    freq, amplitude, phase, _ = _joint_parameters(joint)
    return amplitude * _TAU * freq * np.cos(_TAU * freq * np.asarray(t, dtype=np.float64) + phase)


def joint_effort(t: ArrayLike, joint: ArrayLike) -> FloatArray:
    """Effort of ``joint`` (N m) at ``t`` seconds: a sinusoid of its own frequency."""
    freq, amplitude, phase, _ = _joint_parameters(joint)
    return 4.0 * amplitude * np.cos(_TAU * 1.7 * freq * np.asarray(t, dtype=np.float64) + phase + 1.0)


def action(t: ArrayLike, component: ArrayLike) -> FloatArray:
    """Action ``component`` at ``t`` seconds (a function of the message's log time)."""
    return joint_position(np.asarray(t, dtype=np.float64) + ACTION_LEAD_S, component)


def joint_positions(t: ArrayLike, n_joints: int) -> FloatArray:
    """Positions of joints ``0..n_joints-1`` at ``t``: shape ``(*shape(t), n_joints)``."""
    return joint_position(np.asarray(t, dtype=np.float64)[..., None], np.arange(n_joints))


# --- the image pattern -------------------------------------------------------------------------------------
# An 8x6 grid of cells over the frame (cell = width//8 x height//6 pixels, >= 8x8 at 64x48). The top five
# rows hold 40 gray bit cells (bright = 1, dark = 0), bit i in cell i (row-major): bits 0-23 the frame
# number, 24-27 the camera index, 28-39 a check (crc32 of the first 28 bits). Each cell carries a diagonal
# gray ramp; the bottom row and the margins hold a colour gradient (red left, blue right) that shows
# whether channels were swapped. Uniform noise in [0, 16) (a fixed field seen through a window that moves
# with the frame number) makes raw frames compress like camera images rather than flat drawings.
# Reading averages the middle half of each cell and thresholds at 128.

_COLUMNS, _ROWS, _BIT_ROWS = 8, 6, 5
_FRAME_BITS, _CAMERA_BITS, _CHECK_BITS = 24, 4, 12
_N_BITS = _COLUMNS * _BIT_ROWS
_ON, _OFF, _RAMP = 200.0, 56.0, 24.0
_MIN_CONTRAST = 24.0
_NOISE, _NOISE_SHIFT = 16, 32
#: The smallest frame size: 8x8 pixels per bit cell.
MIN_WIDTH, MIN_HEIGHT = 8 * _COLUMNS, 8 * _ROWS
#: Frames and cameras the pattern can tell apart.
MAX_FRAMES = 1 << _FRAME_BITS
MAX_CAMERAS = 1 << _CAMERA_BITS


class PatternError(SourceError):
    """An image does not carry a readable synthetic frame pattern."""


@dataclass(frozen=True, slots=True)
class FramePattern:
    """What :func:`decode_pattern` read from an image."""

    frame: int  #: the frame number k
    camera: int  #: the index of the camera in ``SynthSpec.cameras``
    bgr: bool  #: True when red and blue are swapped (the image is BGR, not RGB)


def _word(frame: int, camera: int) -> int:
    if not (0 <= frame < MAX_FRAMES and 0 <= camera < MAX_CAMERAS):
        raise ValueError(f"frame {frame} or camera {camera} out of the pattern's range")
    payload = frame | camera << _FRAME_BITS
    return payload | _check(payload) << (_FRAME_BITS + _CAMERA_BITS)


def _check(payload: int) -> int:
    return zlib.crc32(payload.to_bytes(4, "little")) & ((1 << _CHECK_BITS) - 1)


def _cells(width: int, height: int) -> list[tuple[slice, slice]]:
    cw, ch = width // _COLUMNS, height // _ROWS
    return [
        (slice(r * ch, (r + 1) * ch), slice(c * cw, (c + 1) * cw))
        for r in range(_BIT_ROWS)
        for c in range(_COLUMNS)
    ]


class PatternRenderer:
    """Draws the frames of one camera at one size, reusing the pixels that never change.

    Args:
        width: Frame width (>= 64).
        height: Frame height (>= 48).
        camera: Camera index written into the pattern.
    """

    def __init__(self, width: int, height: int, camera: int = 0) -> None:
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            raise ValueError(f"{width}x{height} is smaller than {MIN_WIDTH}x{MIN_HEIGHT}")
        self.width, self.height, self.camera = width, height, camera
        u = np.linspace(0.0, 1.0, width)[None, :]
        v = np.linspace(0.0, 1.0, height)[:, None]
        self._base = np.empty((height, width, 3), dtype=np.uint8)
        self._base[..., 0] = np.round(8.0 + 224.0 * (1.0 - u)).astype(np.uint8)
        self._base[..., 1] = np.round(64.0 + 112.0 * v).astype(np.uint8)
        self._base[..., 2] = np.round(8.0 + 224.0 * u).astype(np.uint8)
        ramp = (u + v - 1.0)[..., None]
        self._levels = (
            np.round(_OFF + _RAMP * ramp).astype(np.uint8).repeat(3, axis=2),
            np.round(_ON + _RAMP * ramp).astype(np.uint8).repeat(3, axis=2),
        )
        self._cells = _cells(width, height)
        # Sensor-like noise in [0, _NOISE): a fixed field, seen through a window that moves every frame.
        rng = np.random.default_rng([width, height, camera])
        shape = (height + _NOISE_SHIFT, width + _NOISE_SHIFT, 3)
        self._noise = rng.integers(0, _NOISE, size=shape, dtype=np.uint8)

    def render(self, frame: int, out: npt.NDArray[np.uint8] | None = None) -> npt.NDArray[np.uint8]:
        """Draw frame ``frame`` into ``out`` (overwritten entirely) or into a new array.

        Returns:
            The RGB frame, shape ``(height, width, 3)``, uint8.
        """
        word = _word(frame, self.camera)
        dy, dx = frame * 7 % _NOISE_SHIFT, frame * 13 % _NOISE_SHIFT
        noise = self._noise[dy : dy + self.height, dx : dx + self.width]
        out = np.add(self._base, noise, out=out)
        for i, (rows, cols) in enumerate(self._cells):
            np.add(self._levels[word >> i & 1][rows, cols], noise[rows, cols], out=out[rows, cols])
        return out


@lru_cache(maxsize=16)
def _renderer(width: int, height: int, camera: int) -> PatternRenderer:
    return PatternRenderer(width, height, camera)


def render_frame(frame: int, width: int, height: int, camera: int = 0) -> npt.NDArray[np.uint8]:
    """The exact RGB image of frame ``frame`` of camera ``camera`` (before any JPEG coding)."""
    return _renderer(width, height, camera).render(frame)


def decode_pattern(image: npt.NDArray[Any]) -> FramePattern:
    """Read frame number and camera index from an image (HxWx3 RGB or BGR, or HxW gray).

    Raises:
        PatternError: The image is too small, too low in contrast or fails the check bits.
    """
    pixels = np.asarray(image)
    if pixels.ndim not in (2, 3) or pixels.shape[0] < _ROWS * 2 or pixels.shape[1] < _COLUMNS * 2:
        raise PatternError(f"image of shape {pixels.shape} cannot carry a frame pattern")
    gray = pixels.astype(np.float32).mean(axis=2) if pixels.ndim == 3 else pixels.astype(np.float32)
    height, width = gray.shape
    levels = np.array([gray[_middle(rows), _middle(cols)].mean() for rows, cols in _cells(width, height)])
    contrast = float(np.abs(levels - 128.0).min())
    if contrast < _MIN_CONTRAST:
        raise PatternError(f"no frame pattern: a bit cell is {contrast:.0f} gray levels from the threshold")
    word = sum(1 << i for i, level in enumerate(levels) if level > 128.0)
    payload = word & ((1 << (_FRAME_BITS + _CAMERA_BITS)) - 1)
    if word >> (_FRAME_BITS + _CAMERA_BITS) != _check(payload):
        raise PatternError("no frame pattern: check bits do not match")
    return FramePattern(payload & (MAX_FRAMES - 1), payload >> _FRAME_BITS, _swapped(pixels))


def frame_number_from_image(image: npt.NDArray[Any]) -> int:
    """The frame number ``k`` shown by an image (see :func:`decode_pattern`)."""
    return decode_pattern(image).frame


def _middle(span: slice) -> slice:
    start, stop = int(span.start), int(span.stop)
    quarter = (stop - start) // 4
    return slice(start + quarter, stop - quarter)


def _swapped(pixels: npt.NDArray[Any]) -> bool:
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        return False
    height, width = pixels.shape[:2]
    strip = pixels[_middle(slice(height // _ROWS * (_ROWS - 1), height)), : max(1, width // 4)]
    return bool(strip[..., 2].astype(np.float32).mean() > strip[..., 0].astype(np.float32).mean())
