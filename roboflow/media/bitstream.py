"""What a video packet is, read from its bytes: the codec a message names, and whether a packet is a keyframe.

Keyframes are told from the bitstream, not from a message's flags (foxglove CompressedVideo has none): an h264
IDR slice, an h265 IRAP picture (IDR, CRA, BLA), an AV1 temporal unit carrying a sequence header (encoders
repeat it with every key frame, as foxglove's format requires), a VP9 key frame. A packet that starts a
decodable sequence from nothing is exactly such a keyframe with its parameter sets, which recorders put in
front of every keyframe.
"""

from __future__ import annotations

__all__ = ["DECODERS", "codec_of", "is_keyframe", "parameter_sets"]

#: codec -> the FFmpeg decoder used for it (FFmpeg's native AV1 decoder needs a hardware accelerator).
DECODERS = {"h264": "h264", "hevc": "hevc", "av1": "libdav1d", "vp9": "vp9"}

_NAMES = {"h264": "h264", "avc": "h264", "h265": "hevc", "hevc": "hevc", "av1": "av1", "vp9": "vp9",
          "avc1": "h264", "hev1": "hevc", "av01": "av1", "vp09": "vp9"}  # the last four: Rerun's VideoCodec


def codec_of(name: str) -> str | None:
    """The codec of a CompressedVideo/CompressedImage ``format`` or an FFMPEGPacket ``encoding``.

    ``h264``, ``libx264``, ``h264_nvenc`` -> ``h264``; ``h265``, ``hevc_nvenc``, ``libx265`` -> ``hevc``;
    ``av1``, ``libsvtav1``, ``av1_nvenc`` -> ``av1``; ``vp9``, ``libvpx-vp9`` -> ``vp9``; the four-character codes
    of Rerun's ``VideoCodec`` (``avc1``, ``hev1``, ``av01``, ``vp09``) likewise; anything else None.
    """
    text = name.strip().lower()
    if text in _NAMES:
        return _NAMES[text]
    for token, codec in (("264", "h264"), ("265", "hevc"), ("hevc", "hevc"), ("av1", "av1"), ("vp9", "vp9")):
        if token in text:
            return codec
    return None


def is_keyframe(codec: str, data: bytes | memoryview) -> bool:
    """Whether packet ``data`` of ``codec`` can start decoding (see the module docstring)."""
    view = data if isinstance(data, bytes) else bytes(data)
    if codec == "h264":
        return any(_nal_type(codec, header) == 5 for header in _nal_headers(view))
    if codec == "hevc":
        return any(16 <= _nal_type(codec, header) <= 23 for header in _nal_headers(view))
    if codec == "av1":
        return _av1_has_sequence_header(view)
    if codec == "vp9":
        return _vp9_is_key(view)
    return False


def parameter_sets(codec: str, data: bytes) -> bytes:
    """The parameter-set NAL units (h264 SPS/PPS, h265 VPS/SPS/PPS) of a keyframe, Annex B; empty for others."""
    if codec not in ("h264", "hevc"):
        return b""
    wanted = {7, 8} if codec == "h264" else {32, 33, 34}
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in _nal_units(data) if unit and _nal_type(codec, unit[0]) in wanted)


def _nal_type(codec: str, header: int) -> int:
    return header & 0x1F if codec == "h264" else (header >> 1) & 0x3F


def _nal_headers(data: bytes) -> list[int]:
    """The header byte of every NAL unit of an Annex B packet (no copies: keyframe tests run on every packet)."""
    return [data[start + 3] for start in _start_codes(data)]


def _start_codes(data: bytes) -> list[int]:
    """Offsets of the ``00 00 01`` start codes that have a NAL unit after them."""
    starts = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0 and start + 3 < len(data):
        starts.append(start)
        start = data.find(b"\x00\x00\x01", start + 3)
    return starts


def _nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B packet, without start codes."""
    starts = _start_codes(data)
    # a 4-byte start code's leading zero belongs to the next unit; NAL units never end in a zero byte
    return [data[begin + 3:end].rstrip(b"\x00") for begin, end in zip(starts, [*starts[1:], len(data)], strict=True)]


def _av1_has_sequence_header(data: bytes) -> bool:
    """Whether a low-overhead-format temporal unit holds a sequence header OBU (type 1)."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        obu_type = (header >> 3) & 0x0F
        if obu_type == 1:
            return True
        pos += 2 if header & 0x04 else 1  # extension byte
        if not header & 0x02:  # no size field: the OBU runs to the end
            return False
        size, shift = 0, 0
        while pos < len(data):
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        pos += size
    return False


def _vp9_is_key(data: bytes) -> bool:
    """Whether a VP9 frame's uncompressed header says key frame (profiles 0-2)."""
    if not data or data[0] >> 6 != 2:  # frame_marker
        return False
    profile = ((data[0] >> 5) & 1) | (((data[0] >> 4) & 1) << 1)
    if profile == 3:
        return False
    show_existing, frame_type = (data[0] >> 3) & 1, (data[0] >> 2) & 1
    return not show_existing and frame_type == 0
