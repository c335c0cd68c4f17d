"""Rerun image rows written by rerun-sdk -> frames: every color model, datatype, pixel format, JPEG/PNG, depth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import simplejpeg

from roboflow.decode import decoder_for
from roboflow.errors import ConfigError
from roboflow.features.images import ImageDecoder
from roboflow.sources.rrd import RrdSource
from roboflow.synth.truth import decode_pattern, render_frame

WIDTH, HEIGHT, FRAMES = 64, 48, 3


def _rgb(k: int) -> np.ndarray:
    return render_frame(k, WIDTH, HEIGHT)


def _gray(k: int) -> np.ndarray:
    return _rgb(k).mean(axis=2).round().astype(np.uint8)


def _yuv(k: int, fmt: str) -> np.ndarray:
    """The bytes of frame k in an FFmpeg pixel format, planes packed without padding."""
    frame = av.VideoFrame.from_ndarray(_rgb(k), format="rgb24").reformat(format=fmt)
    parts = []
    for index, plane in enumerate(frame.planes):
        width = plane.width * 2 if fmt == "yuyv422" or (fmt == "nv12" and index == 1) else plane.width
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        parts.append(rows[:, :width].reshape(-1))
    return np.concatenate(parts)


def _bayer_rggb(k: int) -> np.ndarray:
    rgb, out = _rgb(k), np.empty((HEIGHT, WIDTH), np.uint8)
    out[0::2, 0::2], out[0::2, 1::2] = rgb[0::2, 0::2, 0], rgb[0::2, 1::2, 1]
    out[1::2, 0::2], out[1::2, 1::2] = rgb[1::2, 0::2, 1], rgb[1::2, 1::2, 2]
    return out


def _png(k: int) -> bytes:
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "rgb24"
    return b"".join(bytes(p) for p in codec.encode(av.VideoFrame.from_ndarray(_rgb(k), format="rgb24")))


def _cameras() -> dict[str, Callable[[int], Any]]:
    import rerun as rr

    alpha = np.full((HEIGHT, WIDTH, 1), 255, np.uint8)
    cameras: dict[str, Callable[[int], Any]] = {
        "rgb": lambda k: rr.Image(_rgb(k)),
        "bgr": lambda k: rr.Image(_rgb(k)[:, :, ::-1], color_model="BGR"),
        "rgba": lambda k: rr.Image(np.concatenate([_rgb(k), alpha], axis=2)),
        "bgra": lambda k: rr.Image(np.concatenate([_rgb(k)[:, :, ::-1], alpha], axis=2), color_model="BGRA"),
        "l": lambda k: rr.Image(_gray(k)),
        "rgb_u16": lambda k: rr.Image(_rgb(k).astype(np.uint16) * 257),
        "bgr_f32": lambda k: rr.Image(_rgb(k)[:, :, ::-1].astype(np.float32) / 255, color_model="BGR"),
        "l_u16": lambda k: rr.Image(_gray(k).astype(np.uint16) * 10),
        "l_f32": lambda k: rr.Image(_gray(k).astype(np.float32) / 100),
        "depth": lambda k: rr.DepthImage(_gray(k).astype(np.uint16) * 10, meter=1000.0),
        "jpeg": lambda k: rr.EncodedImage(contents=simplejpeg.encode_jpeg(_rgb(k), quality=95),
                                          media_type="image/jpeg"),
        "png": lambda k: rr.EncodedImage(contents=_png(k), media_type="image/png"),
        "bayer": lambda k: rr.Image(bytes=_bayer_rggb(k).tobytes(), width=WIDTH, height=HEIGHT,
                                    pixel_format=rr.PixelFormat.BayerRGGB8),
    }
    for name, fmt, pixel in (("nv12", "nv12", "NV12"), ("yuy2", "yuyv422", "YUY2"),
                             ("i420", "yuv420p", "Y_U_V12_LimitedRange"), ("i422", "yuvj422p", "Y_U_V16_FullRange"),
                             ("i444", "yuv444p", "Y_U_V24_LimitedRange"), ("y8", "gray", "Y8_FullRange")):
        cameras[name] = lambda k, fmt=fmt, pixel=pixel: rr.Image(
            bytes=_yuv(k, fmt).tobytes(), width=WIDTH, height=HEIGHT, pixel_format=getattr(rr.PixelFormat, pixel))
    return cameras


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[np.ndarray]]:
    """Per camera entity: its frames as ImageDecoder returns them (depth_max 2550 for the depth-like ones)."""
    import rerun as rr

    path = tmp_path_factory.mktemp("rerun-images") / "cams.rrd"
    recording = rr.RecordingStream("roboflow-tests", recording_id="images")
    recording.save(path)
    cameras = _cameras()
    for k in range(FRAMES):
        recording.set_time("time", timestamp=1_700_000_000 + k / 30)
        for name, make in cameras.items():
            recording.log(f"/camera/{name}", make(k))
    recording.flush()
    recording.disconnect()
    out: dict[str, list[np.ndarray]] = {}
    with RrdSource(path) as source:
        decoders = {ch.topic: (decoder_for(ch), ImageDecoder(ch.topic, ch.schema.name if ch.schema else "",
                                                              depth_max=2550.0 if "l_u16" in ch.topic
                                                              or "depth" in ch.topic else 2.55))
                    for ch in source.channels if ch.topic.startswith("/camera/")}
        for raw in source.messages(topics=list(decoders)):
            decode, image = decoders[raw.topic]
            out.setdefault(raw.topic.removeprefix("/camera/"), []).append(image(decode(raw.data), raw.log_time))
    return out


@pytest.mark.parametrize("name", ["rgb", "bgr", "rgba", "bgra", "rgb_u16", "bgr_f32", "png"])
def test_color_images_are_exact(frames: dict[str, list[np.ndarray]], name: str) -> None:
    assert len(frames[name]) == FRAMES
    for k, image in enumerate(frames[name]):
        assert image.dtype == np.uint8 and image.shape == (HEIGHT, WIDTH, 3)
        np.testing.assert_array_equal(image, _rgb(k))


def test_gray_image_is_exact(frames: dict[str, list[np.ndarray]]) -> None:
    for k, image in enumerate(frames["l"]):
        np.testing.assert_array_equal(image, _gray(k))


@pytest.mark.parametrize("name", ["l_u16", "l_f32", "depth"])
def test_depth_like_images_are_scaled_by_depth_max(frames: dict[str, list[np.ndarray]], name: str) -> None:
    for k, image in enumerate(frames[name]):
        assert image.shape == (HEIGHT, WIDTH)
        assert np.abs(image.astype(int) - _gray(k)).max() <= 1
        assert decode_pattern(image).frame == k


@pytest.mark.parametrize("name", ["jpeg", "bayer", "nv12", "yuy2", "i420", "i422", "i444", "y8"])
def test_lossy_and_pixel_formats_show_their_frame(frames: dict[str, list[np.ndarray]], name: str) -> None:
    for k, image in enumerate(frames[name]):
        assert image.shape[:2] == (HEIGHT, WIDTH)
        pattern = decode_pattern(image)
        assert (pattern.frame, pattern.bgr) == (k, False)
        if image.ndim == 3 and name != "bayer":
            assert np.abs(image.astype(int) - _rgb(k)).mean() < 6


def test_depth_without_depth_max_is_one_config_error(tmp_path: Path) -> None:
    decoder = ImageDecoder("/camera/depth", "DepthImage")
    row = {"DepthImage:buffer": np.zeros(8, np.uint8),
           "DepthImage:format": {"width": 2, "height": 2, "channel_datatype": 8}}
    with pytest.raises(ConfigError, match=r"/camera/depth: DepthImage uint16 frames are depth.*set depth_max"):
        decoder(row, 0)
