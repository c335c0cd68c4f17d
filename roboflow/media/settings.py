"""Encoder settings (the ``[video]`` config table) and the codec names they map to."""

from __future__ import annotations

from dataclasses import dataclass

from roboflow.errors import ConfigError

__all__ = [
    "AUTO",
    "AUTO_FALLBACK",
    "CODECS",
    "DEFAULT_QP",
    "HARDWARE_ORDER",
    "PIX_FMTS",
    "Codec",
    "VideoSettings",
]


@dataclass(frozen=True, slots=True)
class Codec:
    """One supported encoder.

    Attributes:
        encoder: FFmpeg encoder name (``libsvtav1``).
        canonical: Canonical codec name of the stream it produces (``av1``), what info.json records.
        default_crf: Constant rate factor used when the settings give none, or None for the encoder's own.
        default_preset: Preset used when the settings give none, or None for the encoder's own.
        quality: How the encoder takes ``qp`` (hardware encoders, which have no crf), as (option, value
            template) pairs: ``(("qp", "{qp}"),)`` for VAAPI, ``(("rc", "constqp"), ("qp", "{qp}"))`` for
            NVENC, ...; empty for a software encoder.
        input_pix_fmt: The pixel format frames are handed to the encoder in, if not the settings' pix_fmt:
            Quick Sync takes nv12 (the same 4:2:0 samples in another memory layout; the stream decodes as
            yuv420p).
    """

    encoder: str
    canonical: str
    default_crf: int | None
    default_preset: str | None
    quality: tuple[tuple[str, str], ...] = ()
    input_pix_fmt: str | None = None

    @property
    def hardware(self) -> bool:
        """Whether the encoder runs on a GPU or media engine (it takes ``qp``, not ``crf``)."""
        return bool(self.quality)


# SVT-AV1 preset 12 (lerobot's) shows the previous frame in flat areas that change in place; 10 passed
# bench/fidelity.py with SVT-AV1 4.1 (PyAV 18) but runs the same encoder mode as 12 in SVT-AV1 3.x; 8 passes.
_SVTAV1 = Codec("libsvtav1", "av1", 30, "8")
_X264 = Codec("libx264", "h264", 23, "veryfast")
_X265 = Codec("libx265", "hevc", None, None)



def _hardware(
    encoder: str, canonical: str, quality: tuple[tuple[str, str], ...], input_pix_fmt: str | None = None
) -> Codec:
    return Codec(encoder, canonical, None, None, quality, input_pix_fmt)


_NVENC = (("rc", "constqp"), ("qp", "{qp}"))
_QSV = (("global_quality", "{qp}"),)
_VAAPI = (("qp", "{qp}"),)
# VideoToolbox has no quantiser option; q:v runs 1..100, better upwards (lerobot's mapping from its crf).
_VIDEOTOOLBOX = (("q:v", "{videotoolbox_q}"),)

#: Hardware encoders in the order ``codec = "auto"`` tries them (lerobot's order, then the AV1 and HEVC
#: variants PyAV's wheels carry).
HARDWARE_ORDER = (
    "h264_videotoolbox",
    "hevc_videotoolbox",
    "h264_nvenc",
    "hevc_nvenc",
    "av1_nvenc",
    "h264_vaapi",
    "h264_qsv",
)
_HARDWARE = {
    "h264_nvenc": _hardware("h264_nvenc", "h264", _NVENC),
    "hevc_nvenc": _hardware("hevc_nvenc", "hevc", _NVENC),
    "av1_nvenc": _hardware("av1_nvenc", "av1", _NVENC),
    "h264_qsv": _hardware("h264_qsv", "h264", _QSV, "nv12"),
    "hevc_qsv": _hardware("hevc_qsv", "hevc", _QSV, "nv12"),
    "av1_qsv": _hardware("av1_qsv", "av1", _QSV, "nv12"),
    "h264_vaapi": _hardware("h264_vaapi", "h264", _VAAPI),
    "hevc_vaapi": _hardware("hevc_vaapi", "hevc", _VAAPI),
    "h264_videotoolbox": _hardware("h264_videotoolbox", "h264", _VIDEOTOOLBOX),
    "hevc_videotoolbox": _hardware("hevc_videotoolbox", "hevc", _VIDEOTOOLBOX),
}

#: Accepted ``[video] codec`` values: encoder names and lerobot's short names (and :data:`AUTO`).
CODECS: dict[str, Codec] = {
    "libsvtav1": _SVTAV1,
    "av1": _SVTAV1,
    "libx264": _X264,
    "h264": _X264,
    "libx265": _X265,
    "hevc": _X265,
    **_HARDWARE,
}
#: ``codec = "auto"``: the first of :data:`HARDWARE_ORDER` that opens here, else libsvtav1
#: (:func:`roboflow.media.hardware.resolve_encoder`).
AUTO = "auto"
#: What ``auto`` falls back to without a hardware encoder (lerobot's choice).
AUTO_FALLBACK = "libsvtav1"
#: A hardware encoder's ``qp`` when the settings give none.
DEFAULT_QP = 23

#: Pixel formats LeRobot videos may use (the spec requires yuv420p).
PIX_FMTS = ("yuv420p",)


@dataclass(frozen=True, slots=True)
class VideoSettings:
    """How camera streams are encoded.

    The default, libx264 ``veryfast`` crf 23 g 2, is the fastest setting that never showed a stale frame in
    ``bench/fidelity.py`` with files no larger than lerobot's. lerobot 0.4 encodes with libsvtav1 preset 12
    crf 30 g 2, which shows the previous frame in flat areas that change in place; ask for it with
    ``VideoSettings(codec="libsvtav1", preset="12")``.

    Args:
        codec: ``libx264`` (``h264``), ``libsvtav1`` (``av1``), ``libx265`` (``hevc``), a hardware encoder
            (``h264_nvenc``, ``hevc_nvenc``, ``av1_nvenc``, ``h264_qsv``, ``h264_vaapi``,
            ``h264_videotoolbox``, ...) or ``auto`` (resolved by :func:`roboflow.media.hardware.resolve_encoder`
            before encoding).
        crf: Constant rate factor (quality; lower is better), or None for the codec's default (23 for
            libx264, 30 for libsvtav1, the encoder's own for libx265; see :class:`Codec`). Software only.
        qp: Constant quantiser of a hardware encoder (0..51, lower is better; :data:`DEFAULT_QP` if None),
            passed as the encoder's own quality option (``qp`` for NVENC and VAAPI, ``global_quality`` for
            Quick Sync, ``q:v`` = 100 - 2 qp for VideoToolbox). Hardware only.
        preset: Encoder speed preset (``"veryfast"`` for libx264, ``"8"`` for libsvtav1 by default), or None
            for the codec's default.
        gop: Keyframe interval in frames (FFmpeg's ``g``); 2, as lerobot, for fast random access.
        pix_fmt: Pixel format of the stream; only ``yuv420p`` (what lerobot reads everywhere).
        threads: Encoder threads (libsvtav1 ``lp``, x264/x265 ``threads``), or None for the encoder default.

    Raises:
        ConfigError: An unknown codec or pixel format, or a value out of range.
    """

    codec: str = "libx264"
    crf: int | None = None
    preset: str | None = None
    gop: int | None = 2
    pix_fmt: str = "yuv420p"
    threads: int | None = None
    qp: int | None = None

    def __post_init__(self) -> None:
        if self.codec not in CODECS and self.codec != AUTO:
            raise ConfigError(
                f"unknown video codec {self.codec!r}", hint=f"use one of {', '.join(sorted([*CODECS, AUTO]))}"
            )
        hardware = self.codec == AUTO or CODECS[self.codec].hardware
        if self.crf is not None and hardware:
            raise ConfigError(
                f"video codec {self.codec!r} takes qp, not crf", hint="set qp (0..51, lower is better)"
            )
        if self.qp is not None and not hardware:
            raise ConfigError(f"video codec {self.codec!r} takes crf, not qp (qp is for hardware encoders)")
        if self.qp is not None and not 0 <= self.qp <= 51:
            raise ConfigError(f"video qp must be between 0 and 51, got {self.qp}")
        if self.pix_fmt not in PIX_FMTS:
            raise ConfigError(f"unsupported pix_fmt {self.pix_fmt!r}", hint="LeRobot videos must be yuv420p")
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise ConfigError(f"video crf must be between 0 and 63, got {self.crf}")
        if self.gop is not None and self.gop < 1:
            raise ConfigError(f"video gop must be at least 1, got {self.gop}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"video threads must be at least 1, got {self.threads}")
        if self.preset is not None and not isinstance(self.preset, str):
            object.__setattr__(self, "preset", str(self.preset))

    @property
    def spec(self) -> Codec:
        """The encoder and stream codec names of :attr:`codec`.

        Raises:
            ConfigError: The codec is ``auto``, which names no encoder until it is resolved.
        """
        if self.codec == AUTO:
            raise ConfigError('video codec "auto" must be resolved to an encoder first')
        return CODECS[self.codec]

    @property
    def input_pix_fmt(self) -> str:
        """The pixel format frames are handed to the encoder in."""
        return self.spec.input_pix_fmt or self.pix_fmt

    def encoder_options(self) -> dict[str, str]:
        """FFmpeg private options for the encoder, as lerobot sets them (x265 told to log errors only).

        ``g`` is set for hardware encoders too (lerobot leaves their keyframe interval to the encoder, 250
        frames for NVENC, which makes every random frame access decode up to 249 others).
        """
        codec = self.spec
        options: dict[str, str] = {}
        if self.gop is not None:
            options["g"] = str(self.gop)
        if codec.hardware:
            qp = DEFAULT_QP if self.qp is None else self.qp
            values = {"qp": str(qp), "videotoolbox_q": str(max(1, min(100, 100 - 2 * qp)))}
            options.update({key: value.format(**values) for key, value in codec.quality})
            if self.preset is not None:
                options["preset"] = self.preset
            return options
        crf = self.crf if self.crf is not None else codec.default_crf
        if crf is not None:
            options["crf"] = str(crf)
        preset = self.preset if self.preset is not None else codec.default_preset
        if preset is not None:
            options["preset"] = preset
        if codec.encoder == "libsvtav1":
            if self.threads is not None:
                options["svtav1-params"] = f"lp={self.threads}"
        else:
            if self.threads is not None:
                options["threads"] = str(self.threads)
            if codec.encoder == "libx265":
                options["x265-params"] = "log-level=error"
        return options
