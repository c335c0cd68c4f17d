from __future__ import annotations

import base64
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
import simplejpeg
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from rosbags.typesys import Stores, get_typestore

from roboflow.errors import ConfigError, SourceError
from roboflow.features import ImageDecoder, image_kind

STORE = get_typestore(Stores.ROS2_HUMBLE)
Image = STORE.types["sensor_msgs/msg/Image"]
CompressedImage = STORE.types["sensor_msgs/msg/CompressedImage"]
Header = STORE.types["std_msgs/msg/Header"]
Time = STORE.types["builtin_interfaces/msg/Time"]
T = 1_500_000_000


def header() -> Any:
    return Header(stamp=Time(sec=1, nanosec=500_000_000), frame_id="cam")


def rgb_pattern(h: int = 6, w: int = 8) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 30, y * 40, (x + y) * 10], axis=2).astype(np.uint8)


def raw(pixels: np.ndarray, encoding: str, *, step: int | None = None, big: bool = False) -> Any:
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1).view(np.uint8)
    row_bytes = rows.shape[1]
    step = step or row_bytes
    data = np.zeros((h, step), np.uint8)
    data[:, :row_bytes] = rows
    return Image(header=header(), height=h, width=w, encoding=encoding, is_bigendian=int(big), step=step,
                 data=data.reshape(-1))


def decode(msg: Any, kind: str = "sensor_msgs/msg/Image", depth_max: float | None = None) -> np.ndarray:
    return ImageDecoder("/cam", kind, depth_max)(msg, T)


def test_types_that_carry_images_are_recognised() -> None:
    assert image_kind("sensor_msgs/Image") == "raw" and image_kind("sensor_msgs/msg/CompressedImage") == "compressed"
    assert image_kind("foxglove.RawImage") == "raw" and image_kind("foxglove_msgs/msg/CompressedImage") == "compressed"
    assert image_kind("sensor_msgs/msg/JointState") is None
    with pytest.raises(ConfigError, match="does not carry images"):
        ImageDecoder("/x", "std_msgs/msg/String")


def test_rgb8_is_a_view_without_copy_even_with_row_padding() -> None:
    rgb = rgb_pattern()
    msg = raw(rgb, "rgb8", step=32)
    out = decode(msg)
    np.testing.assert_array_equal(out, rgb)
    assert np.shares_memory(out, msg.data)


@pytest.mark.parametrize(
    ("encoding", "convert"),
    [
        ("bgr8", lambda rgb: rgb[:, :, ::-1]),
        ("rgba8", lambda rgb: np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)),
        ("bgra8", lambda rgb: np.concatenate([rgb[:, :, ::-1], np.zeros(rgb.shape[:2] + (1,), np.uint8)], axis=2)),
    ],
)
def test_colour_encodings_come_out_as_rgb(encoding: str, convert: Any) -> None:
    rgb = rgb_pattern()
    np.testing.assert_array_equal(decode(raw(convert(rgb), encoding)), rgb)


def test_mono8_is_gray_2d() -> None:
    gray = rgb_pattern()[:, :, 0]
    out = decode(raw(gray[:, :, None], "mono8"))
    assert out.shape == (6, 8)
    np.testing.assert_array_equal(out, gray)


@pytest.mark.parametrize(("encoding", "big"), [("mono16", False), ("16UC1", True)])
def test_16_bit_depth_needs_depth_max_and_is_scaled_to_gray(encoding: str, big: bool) -> None:
    depth = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 80).astype(">u2" if big else "<u2")
    msg = raw(depth[:, :, None], encoding, big=big)
    with pytest.raises(ConfigError, match=r"/cam: .* depth/16-bit data.*set depth_max"):
        decode(msg)
    out = decode(msg, depth_max=3760.0)
    assert out.dtype == np.uint8 and out.shape == (6, 8)
    np.testing.assert_array_equal(out, np.clip(depth.astype(np.float32) * 255 / 3760, 0, 255).astype(np.uint8))
    assert out[-1, -1] == 255 and out[0, 0] == 0


def test_float_depth_with_nan_becomes_black() -> None:
    depth = np.linspace(0, 2, 48, dtype=np.float32).reshape(6, 8)
    depth[0, 1] = np.nan
    out = decode(raw(depth[:, :, None], "32FC1"), depth_max=2.0)
    assert out[0, 1] == 0 and out[-1, -1] == 255


def test_bayer_is_demosaiced_by_swscale() -> None:
    mosaic = np.zeros((6, 8), np.uint8)
    mosaic[0::2, 0::2] = 200  # red sites of RGGB: a pure red image
    out = decode(raw(mosaic[:, :, None], "bayer_rggb8"))
    assert out.shape == (6, 8, 3)
    assert (out[2:4, 2:6, 0] == 200).all() and (out[2:4, 2:6, 1:] == 0).all()


def test_packed_yuv422_is_converted() -> None:
    uyvy = np.tile(np.array([128, 200, 128, 200], np.uint8), (6, 4))  # gray 200 (limited range)
    out = decode(raw(uyvy.reshape(6, 8, 2), "yuv422"))
    assert out.shape == (6, 8, 3) and abs(int(out[3, 3, 0]) - 215) <= 3 and np.ptp(out[3, 3]) <= 2


def test_a_frame_smaller_than_its_header_is_a_source_error_naming_topic_and_time() -> None:
    msg = Image(header=header(), height=480, width=640, encoding="rgb8", is_bigendian=0, step=1920,
                data=np.zeros(30, np.uint8))
    with pytest.raises(SourceError, match=r"/cam at t=1.500000 s: rgb8 image header says 640x480 \(step 1920\), "
                                          r"which needs 921600 bytes, but the message has 30"):
        decode(msg)


def test_an_unknown_encoding_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="unsupported image encoding 'weird'"):
        decode(raw(rgb_pattern(), "weird"))


def test_jpeg_and_gray_jpeg_decode() -> None:
    rgb = np.repeat(np.repeat(rgb_pattern(), 8, axis=0), 8, axis=1)
    jpeg = simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=95)
    out = decode(CompressedImage(header=header(), format="jpeg", data=np.frombuffer(jpeg, np.uint8)),
                 "sensor_msgs/msg/CompressedImage")
    assert out.shape == rgb.shape and np.abs(out.astype(int) - rgb).mean() < 4
    gray = np.ascontiguousarray(rgb[:, :, :1])
    jpeg = simplejpeg.encode_jpeg(gray, quality=95, colorspace="GRAY")
    out = decode(CompressedImage(header=header(), format="jpeg", data=np.frombuffer(jpeg, np.uint8)),
                 "sensor_msgs/msg/CompressedImage")
    assert out.shape == gray.shape[:2]


def png(pixels: np.ndarray, fmt: str) -> bytes:
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = pixels.shape[1], pixels.shape[0], fmt
    codec.time_base = Fraction(1, 1)
    frame = av.VideoFrame.from_ndarray(pixels, format=fmt)
    return b"".join(bytes(p) for p in codec.encode(frame)) + b"".join(bytes(p) for p in codec.encode(None))


def test_png_rgb_and_16_bit_compressed_depth() -> None:
    rgb = rgb_pattern()
    msg = CompressedImage(header=header(), format="png", data=np.frombuffer(png(rgb, "rgb24"), np.uint8))
    np.testing.assert_array_equal(decode(msg, "sensor_msgs/msg/CompressedImage"), rgb)
    depth = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 100)
    payload = bytes(12) + png(depth, "gray16be")
    msg = CompressedImage(header=header(), format="16UC1; compressedDepth png", data=np.frombuffer(payload, np.uint8))
    out = decode(msg, "sensor_msgs/msg/CompressedImage", depth_max=4700.0)
    np.testing.assert_array_equal(out, np.clip(depth * 255.0 / 4700, 0, 255).astype(np.uint8))


def test_undecodable_compressed_data_is_a_source_error() -> None:
    msg = CompressedImage(header=header(), format="jpeg", data=np.frombuffer(b"\xff\xd8garbage!!", np.uint8))
    with pytest.raises(SourceError, match=r"/cam at t=1.500000 s: corrupt JPEG \(11 bytes\)"):
        decode(msg, "sensor_msgs/msg/CompressedImage")
    msg = CompressedImage(header=header(), format="jpeg", data=np.frombuffer(b"0123456789", np.uint8))
    with pytest.raises(SourceError, match=r"neither JPEG nor PNG"):
        decode(msg, "sensor_msgs/msg/CompressedImage")


def _foxglove_classes() -> tuple[type, type]:
    files = descriptor_pb2.FileDescriptorProto(name="foxglove_images.proto", package="foxglove", syntax="proto3")
    F = descriptor_pb2.FieldDescriptorProto
    raw_fields = [("frame_id", 7, F.TYPE_STRING), ("width", 2, F.TYPE_FIXED32), ("height", 3, F.TYPE_FIXED32),
                  ("encoding", 4, F.TYPE_STRING), ("step", 5, F.TYPE_FIXED32), ("data", 6, F.TYPE_BYTES)]
    compressed_fields = [("frame_id", 4, F.TYPE_STRING), ("data", 2, F.TYPE_BYTES), ("format", 3, F.TYPE_STRING)]
    for name, fields in (("RawImage", raw_fields), ("CompressedImage", compressed_fields)):
        message = files.message_type.add(name=name)
        for field_name, number, kind in fields:
            message.field.add(name=field_name, number=number, type=kind, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(files)
    return tuple(message_factory.GetMessageClass(pool.FindMessageTypeByName(f"foxglove.{n}"))  # type: ignore[return-value]
                 for n in ("RawImage", "CompressedImage"))


def test_foxglove_protobuf_and_json_images() -> None:
    RawImage, FoxCompressed = _foxglove_classes()
    rgb = rgb_pattern()
    msg = RawImage(width=8, height=6, encoding="bgr8", step=24, data=rgb[:, :, ::-1].tobytes())
    np.testing.assert_array_equal(decode(msg, "foxglove.RawImage"), rgb)
    big = np.ascontiguousarray(np.repeat(np.repeat(rgb, 8, axis=0), 8, axis=1))
    msg = FoxCompressed(format="jpeg", data=simplejpeg.encode_jpeg(big, quality=95))
    assert decode(msg, "foxglove.CompressedImage").shape == big.shape
    as_json = {"width": 8, "height": 6, "encoding": "rgb8", "step": 24, "data": base64.b64encode(rgb.tobytes()).decode()}
    np.testing.assert_array_equal(decode(as_json, "foxglove.RawImage"), rgb)
