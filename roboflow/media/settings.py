"""Encoder settings (the ``[video]`` config table) and the codec names they map to."""

from __future__ import annotations

from dataclasses import dataclass

from roboflow.errors import ConfigError

__all__ = ["CODECS", "PIX_FMTS", "Codec", "VideoSettings"]


@dataclass(frozen=True, slots=True)
class Codec:
    """One supported encoder.

    Attributes:
        encoder: FFmpeg encoder name (``libsvtav1``).
        canonical: Canonical codec name of the stream it produces (``av1``), what info.json records.
        default_crf: Constant rate factor used when the settings give none, or None for the encoder's own.
        default_preset: Preset used when the settings give none, or None for the encoder's own.
    """

    encoder: str
    canonical: str
    default_crf: int | None
    default_preset: str | None


# SVT-AV1 preset 12 (lerobot's) shows the previous frame in flat areas that change in place; 10 passed
# bench/fidelity.py with SVT-AV1 4.1 (PyAV 18) but runs the same encoder mode as 12 in SVT-AV1 3.x; 8 passes.
_SVTAV1 = Codec("libsvtav1", "av1", 30, "8")
_X264 = Codec("libx264", "h264", 23, "veryfast")
_X265 = Codec("libx265", "hevc", None, None)

#: Accepted ``[video] codec`` values: encoder names and lerobot's short names.
CODECS: dict[str, Codec] = {
    "libsvtav1": _SVTAV1,
    "av1": _SVTAV1,
    "libx264": _X264,
    "h264": _X264,
    "libx265": _X265,
    "hevc": _X265,
}

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
        codec: ``libx264`` (``h264``), ``libsvtav1`` (``av1``) or ``libx265`` (``hevc``).
        crf: Constant rate factor (quality; lower is better), or None for the codec's default (23 for
            libx264, 30 for libsvtav1, the encoder's own for libx265; see :class:`Codec`).
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

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ConfigError(
                f"unknown video codec {self.codec!r}", hint=f"use one of {', '.join(sorted(CODECS))}"
            )
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
        """The encoder and stream codec names of :attr:`codec`."""
        return CODECS[self.codec]

    def encoder_options(self) -> dict[str, str]:
        """FFmpeg private options for the encoder, as lerobot sets them (x265 told to log errors only)."""
        codec = self.spec
        options: dict[str, str] = {}
        if self.gop is not None:
            options["g"] = str(self.gop)
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
