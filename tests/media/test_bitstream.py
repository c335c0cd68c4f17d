"""Keyframes told from the bitstream, against what the encoder says, for every codec; codec names of messages."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from roboflow.media.bitstream import codec_of, is_keyframe, parameter_sets


def _packets(encoder: str, options: dict[str, str], count: int = 12, gop: int = 5) -> list[av.Packet]:
    context = av.CodecContext.create(encoder, "w")
    context.width, context.height, context.pix_fmt = 64, 64, "yuv420p"
    context.time_base = Fraction(1, 30)
    context.gop_size, context.max_b_frames = gop, 0
    context.options = options
    rng = np.random.default_rng(0)
    packets: list[av.Packet] = []
    for k in range(count):
        frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), format="rgb24")
        frame.pts = k
        packets += context.encode(frame.reformat(format="yuv420p"))
    return packets + context.encode(None)


ENCODERS = {
    "h264": ("libx264", {"tune": "zerolatency", "x264-params": "keyint=5:min-keyint=5:scenecut=0"}),
    "hevc": ("libx265", {"tune": "zerolatency", "x265-params": "keyint=5:min-keyint=5:scenecut=0:bframes=0:"
                                                              "repeat-headers=1:log-level=error"}),
    "av1": ("libsvtav1", {"svtav1-params": "keyint=5:scd=0:pred-struct=1"}),
    "vp9": ("libvpx-vp9", {"lag-in-frames": "0", "deadline": "realtime"}),
}


@pytest.mark.parametrize("codec", list(ENCODERS))
def test_keyframes_match_the_encoders_flags(codec: str) -> None:
    encoder, options = ENCODERS[codec]
    packets = _packets(encoder, options)
    assert len(packets) == 12
    flags = [bool(p.is_keyframe) for p in packets]
    assert flags[0] and sum(flags) >= 2
    assert [is_keyframe(codec, bytes(p)) for p in packets] == flags


@pytest.mark.parametrize(("codec", "types"), [("h264", {7, 8}), ("hevc", {32, 33, 34})])
def test_parameter_sets_are_those_of_the_keyframe(codec: str, types: set[int]) -> None:
    encoder, options = ENCODERS[codec]
    key = bytes(_packets(encoder, options, count=1)[0])
    sets = parameter_sets(codec, key)
    units = [u for u in sets.split(b"\x00\x00\x00\x01") if u]
    assert {u[0] & 0x1F if codec == "h264" else (u[0] >> 1) & 0x3F for u in units} == types
    assert all(u in key for u in units)
    assert parameter_sets("av1", b"\x12\x00") == b""


def test_codec_names_of_formats_and_ffmpeg_encoders() -> None:
    names = {"h264": "h264", "H264": "h264", "libx264": "h264", "h264_nvenc": "h264", "h265": "hevc",
             "hevc_nvenc": "hevc", "libx265": "hevc", "av1": "av1", "libsvtav1": "av1", "av1_nvenc": "av1",
             "vp9": "vp9", "libvpx-vp9": "vp9", "jpeg": None, "png": None, "rgb8; jpeg compressed bgr8": None}
    assert {name: codec_of(name) for name in names} == names
