"""Frame layouts (RGB, yuv420p, gray), their PyAV frames, the RGB thumbnails for stats, pixel channels."""

from __future__ import annotations

import av
import numpy as np
import pytest

from roboflow.errors import DatasetError
from roboflow.media.frames import (
    PixelLayout,
    frame_layout,
    freeze,
    is_frozen,
    kept_frame,
    thumbnail,
    thumbnail_rgb,
    to_video_frame,
    video_frame_thumbnail,
)
from roboflow.media.probe import pixel_channels
from roboflow.synth.truth import render_frame

H, W = 48, 64


def test_layouts_are_recognised_by_shape() -> None:
    assert frame_layout(np.zeros((H, W, 3), np.uint8), H, W) is PixelLayout.RGB
    assert frame_layout(np.zeros((H, W), np.uint8), H, W) is PixelLayout.GRAY
    assert frame_layout(np.zeros((H, W, 1), np.uint8), H, W) is PixelLayout.GRAY
    assert frame_layout(np.zeros((H * 3 // 2, W), np.uint8), H, W) is PixelLayout.YUV420


def test_wrong_frames_are_refused_with_the_fix() -> None:
    with pytest.raises(DatasetError, match=r"cam: frames must be uint8, got uint16 \(16-bit depth"):
        frame_layout(np.zeros((H, W), np.uint16), H, W, name="cam")
    with pytest.raises(
        DatasetError, match=r"frame of shape \(48, 64, 4\) matches no layout of a 64x48 camera"
    ):
        frame_layout(np.zeros((H, W, 4), np.uint8), H, W)


def test_video_frames_copy_the_input() -> None:
    rgb = render_frame(3, W, H)
    frame = to_video_frame(rgb, PixelLayout.RGB)
    rgb[:] = 0
    assert frame.format.name == "rgb24"
    np.testing.assert_array_equal(frame.to_ndarray(), render_frame(3, W, H))
    window = np.zeros((H + 10, W + 10, 3), np.uint8)[5 : 5 + H, 5 : 5 + W]  # not contiguous
    assert to_video_frame(window, PixelLayout.RGB).to_ndarray().shape == (H, W, 3)
    gray = to_video_frame(render_frame(3, W, H)[:, :, :1], PixelLayout.GRAY)
    assert gray.format.name == "gray"
    np.testing.assert_array_equal(gray.to_ndarray(), render_frame(3, W, H)[:, :, 0])


def test_frames_nothing_can_change_are_kept_and_the_others_copied() -> None:
    message = render_frame(3, W, H).tobytes()
    view = np.frombuffer(memoryview(message), np.uint8).reshape(H, W, 3)  # a raw camera's frame: over bytes
    assert is_frozen(view) and kept_frame(view, PixelLayout.RGB) is view
    gray = np.frombuffer(message[: H * W], np.uint8).reshape(H, W, 1)
    assert np.shares_memory(kept_frame(gray, PixelLayout.GRAY), gray)
    assert kept_frame(gray, PixelLayout.GRAY).shape == (H, W)

    owner = render_frame(3, W, H)
    readonly = owner.view()
    readonly.flags.writeable = False  # its owner can still write: copied
    kept = kept_frame(readonly, PixelLayout.RGB)
    owner[:] = 0
    assert not is_frozen(readonly) and not np.shares_memory(kept, owner)
    np.testing.assert_array_equal(kept, render_frame(3, W, H))
    assert not np.shares_memory(kept_frame(render_frame(3, W, H), PixelLayout.RGB), owner)  # writeable: copied
    chunk = bytes(3 * H * W * 3 + 64 * 1024)  # frozen, but keeping the frame would keep the rest alive: copied
    first = np.frombuffer(chunk, np.uint8, count=H * W * 3).reshape(H, W, 3)
    assert is_frozen(first) and not np.shares_memory(kept_frame(first, PixelLayout.RGB), first)
    flipped = view[:, :, ::-1]  # frozen but not laid out for the encoder: copied, C-contiguous
    assert kept_frame(flipped, PixelLayout.RGB).flags.c_contiguous
    np.testing.assert_array_equal(kept_frame(flipped, PixelLayout.RGB), flipped)


def test_a_decoders_frame_is_kept_once_frozen() -> None:
    yuv = av.VideoFrame.from_ndarray(render_frame(3, W, H), format="rgb24").reformat(format="yuv420p")
    planes = yuv.to_ndarray(format="yuv420p")  # a view of an array PyAV made
    assert not is_frozen(planes) and planes.base is not None
    frozen = freeze(planes)
    assert frozen is planes and is_frozen(planes) and kept_frame(planes, PixelLayout.YUV420) is planes
    with pytest.raises(ValueError, match="read-only"):
        planes[0, 0] = 1


@pytest.mark.parametrize("stride", [2, 3])
def test_a_decoded_frames_thumbnail_is_ffmpegs_conversion_within_a_few_levels(stride: int) -> None:
    rgb = np.random.default_rng(stride).integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    expected = frame.to_ndarray(format="rgb24")[::stride, ::stride]
    pixels = video_frame_thumbnail(frame, stride)  # from the planes
    assert pixels.shape == expected.shape and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - expected).max() <= 3
    full = frame.reformat(format="yuvj420p")  # not limited-range yuv420p: FFmpeg converts it
    np.testing.assert_array_equal(video_frame_thumbnail(full, stride), full.to_ndarray(format="rgb24")[::stride, ::stride])


def rgb_thumbnail(array: np.ndarray, layout: PixelLayout, stride: int) -> np.ndarray:
    return thumbnail_rgb(thumbnail(array, layout, stride), layout)


@pytest.mark.parametrize("stride", [1, 3, 4])
def test_thumbnails_of_every_layout_agree(stride: int) -> None:
    colours = np.random.default_rng(stride).integers(0, 256, size=(H // 16, W // 16, 3), dtype=np.uint8)
    rgb = np.repeat(np.repeat(colours, 16, axis=0), 16, axis=1)  # 16x16 blocks of one colour
    np.testing.assert_array_equal(rgb_thumbnail(rgb, PixelLayout.RGB, stride), rgb[::stride, ::stride])
    yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
    assert frame_layout(yuv, H, W) is PixelLayout.YUV420
    converted = rgb_thumbnail(yuv, PixelLayout.YUV420, stride)
    assert converted.shape == rgb[::stride, ::stride].shape
    inside = (np.arange(0, H, stride) % 16 - 7.5)[:, None] ** 2 + (np.arange(0, W, stride) % 16 - 7.5)[
        None, :
    ] ** 2
    interior = inside < 4.5**2  # swscale filters chroma across block edges; compare away from them
    error = np.abs(converted.astype(np.int16) - rgb[::stride, ::stride])[interior]
    assert interior.sum() > 20 and error.max() <= 2  # 8-bit YUV rounding (out-of-gamut colours clip)
    gray = rgb[:, :, 1]
    thumbnail = rgb_thumbnail(gray, PixelLayout.GRAY, stride)
    assert thumbnail.shape == (*gray[::stride, ::stride].shape, 3)
    assert all(np.array_equal(thumbnail[:, :, c], gray[::stride, ::stride]) for c in range(3))


def test_pixel_channels_rule() -> None:
    assert [pixel_channels(p) for p in ("yuv420p", "gray", "gray16le", "rgba", "yuva420p", "rgb24")] == [
        3,
        1,
        1,
        4,
        4,
        3,
    ]
    with pytest.raises(DatasetError, match="unknown pixel format"):
        pixel_channels("bayer_rggb8")
