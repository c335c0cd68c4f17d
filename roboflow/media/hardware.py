"""Which encoder to use here: a hardware encoder is usable only if it opens and encodes on this machine.

PyAV's wheels carry NVENC and Quick Sync whether or not the machine has the GPU or driver, so being compiled
in (lerobot's test for ``vcodec="auto"``) says nothing; :func:`probe_encoder` encodes one frame with the
settings' exact options instead. :func:`resolve_encoder` turns ``codec = "auto"`` into the first hardware
encoder of :data:`~roboflow.media.settings.HARDWARE_ORDER` that passes the probe, else libsvtav1, and
refuses a named hardware encoder that does not pass it, so the config check fails instead of the first
episode. Results are cached per process: a probe that opens a GPU costs a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from roboflow.errors import ConfigError
from roboflow.media.settings import AUTO, AUTO_FALLBACK, HARDWARE_ORDER, VideoSettings

__all__ = ["PROBE_SIZE", "ResolvedEncoder", "probe_encoder", "resolve_encoder"]

#: Width and height of the probe frame: above every hardware encoder's minimum size (NVENC's is 145 x 49).
PROBE_SIZE = 256


@dataclass(frozen=True, slots=True)
class ResolvedEncoder:
    """Settings naming an encoder that opens here.

    Attributes:
        settings: The settings, ``codec`` never ``auto``.
        note: For ``auto``, one line saying which encoder was chosen and why; None otherwise.
    """

    settings: VideoSettings
    note: str | None = None


@functools.lru_cache(maxsize=64)
def probe_encoder(settings: VideoSettings) -> str | None:
    """Encode one frame with ``settings``; None if that worked, else FFmpeg's reason in words.

    Args:
        settings: Settings naming a concrete encoder (not ``auto``).
    """
    codec = settings.spec
    try:
        context = av.CodecContext.create(codec.encoder, "w")
        assert isinstance(context, av.VideoCodecContext)
        context.width = context.height = PROBE_SIZE
        context.pix_fmt = settings.input_pix_fmt
        context.time_base = Fraction(1, 30)
        context.framerate = Fraction(30, 1)
        context.options = settings.encoder_options()
        context.open()
        black = np.zeros((PROBE_SIZE, PROBE_SIZE, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(black, format="rgb24").reformat(format=settings.input_pix_fmt)
        frame.pts = 0
        packets = [*context.encode(frame), *context.encode(None)]
    except (av.FFmpegError, OSError, ValueError) as err:
        return str(err) or type(err).__name__
    return None if packets else "the encoder produced no packet"


def resolve_encoder(settings: VideoSettings, candidates: Sequence[str] = HARDWARE_ORDER) -> ResolvedEncoder:
    """The settings to encode with on this machine.

    Args:
        settings: The configured settings.
        candidates: Hardware encoders ``auto`` tries, in order.

    Returns:
        ``settings`` unchanged for a software encoder or a hardware encoder that opens; for ``auto`` the
        settings with the first candidate that opens, else with libsvtav1, and a note saying which.

    Raises:
        ConfigError: A named hardware encoder does not open here.
    """
    if settings.codec == AUTO:
        return _resolve_auto(settings, tuple(candidates))
    if settings.spec.hardware:
        reason = probe_encoder(settings)
        if reason is not None:
            raise ConfigError(
                f"video codec {settings.codec!r} cannot encode on this machine: {reason}",
                hint='use codec = "auto" to fall back to libsvtav1 where there is no such hardware, '
                "or a software codec (libx264, libsvtav1)",
            )
    return ResolvedEncoder(settings)


def _resolve_auto(settings: VideoSettings, candidates: tuple[str, ...]) -> ResolvedEncoder:
    failed = []
    for name in candidates:
        choice = dataclasses.replace(settings, codec=name)
        reason = probe_encoder(choice)
        if reason is None:
            return ResolvedEncoder(choice, f"video codec auto: {name} (a hardware encoder that opens here)")
        failed.append(name)
    fallback = dataclasses.replace(settings, codec=AUTO_FALLBACK, qp=None)
    return ResolvedEncoder(
        fallback,
        f"video codec auto: {AUTO_FALLBACK} (no hardware encoder opens here; tried {', '.join(failed)})",
    )
