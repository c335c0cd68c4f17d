"""The ground truth: joint functions and the frame-number image pattern (through JPEG, video and resizing)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
import simplejpeg

from roboflow.synth import truth


def test_seconds_is_exact_for_epoch_stamps() -> None:
    start = truth.DEFAULT_START_NS
    assert truth.seconds(start + 1_500_000_001, start) == pytest.approx(1.500000001, abs=1e-15)
    np.testing.assert_array_equal(truth.seconds(np.array([start, start + 10**9]), start), [0.0, 1.0])


def test_joints_are_distinct_bounded_sinusoids() -> None:
    t = np.linspace(0.0, 30.0, 30_001)
    positions = truth.joint_positions(t, 40)
    assert positions.shape == (30_001, 40)
    assert np.all(np.abs(positions) < 1.0)
    assert np.unique(np.round(positions[123], 9)).size == 40  # no two joints alike
    speed = np.abs(np.diff(positions, axis=0)) / np.diff(t)[:, None]
    assert speed.max() <= truth.MAX_JOINT_SPEED
    assert speed.max() > 0.5 * truth.MAX_JOINT_SPEED


def test_velocity_is_the_derivative_of_position() -> None:
    t, dt = np.linspace(0.0, 20.0, 2001), 1e-6
    for joint in (0, 5, 13):
        numeric = (truth.joint_position(t + dt, joint) - truth.joint_position(t - dt, joint)) / (2 * dt)
        np.testing.assert_allclose(truth.joint_velocity(t, joint), numeric, atol=1e-6)


def test_action_leads_the_state_and_effort_differs() -> None:
    t = np.array([0.0, 0.25, 3.7])
    np.testing.assert_array_equal(truth.action(t, 3), truth.joint_position(t + truth.ACTION_LEAD_S, 3))
    assert not np.allclose(truth.joint_effort(t, 3), truth.joint_position(t, 3))


def test_scalars_give_scalars_and_arrays_broadcast() -> None:
    assert isinstance(float(truth.joint_position(1.0, 2)), float)
    assert truth.joint_velocity(np.zeros((4, 1)), np.arange(3)).shape == (4, 3)


@pytest.mark.parametrize(("width", "height"), [(64, 48), (100, 75), (640, 480)])
def test_pattern_round_trips_exactly_and_through_jpeg(width: int, height: int) -> None:
    for frame, camera in [(0, 0), (1, 1), (29, 2), (4095, 15), (truth.MAX_FRAMES - 1, 3)]:
        image = truth.render_frame(frame, width, height, camera)
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        assert truth.decode_pattern(image) == truth.FramePattern(frame, camera, bgr=False)
        jpeg = simplejpeg.encode_jpeg(image, quality=30, colorspace="RGB", colorsubsampling="420")
        assert truth.frame_number_from_image(simplejpeg.decode_jpeg(jpeg, colorspace="RGB")) == frame


def test_renderer_reuses_a_buffer_without_leftovers() -> None:
    renderer = truth.PatternRenderer(64, 48, 1)
    buffer = renderer.render(1)
    for frame in (2**23 - 1, 0, 77):
        assert renderer.render(frame, buffer) is buffer
        np.testing.assert_array_equal(buffer, truth.render_frame(frame, 64, 48, 1))


def test_frames_differ_and_are_not_flat() -> None:
    first, second = truth.render_frame(10, 64, 48), truth.render_frame(11, 64, 48)
    assert np.count_nonzero(first != second) > 1000  # noise moves and one bit flips
    assert len(np.unique(first[..., 0])) > 100  # gradient + noise, not a drawing of 2 levels


def test_swapped_channels_gray_and_resized_images() -> None:
    image = truth.render_frame(321, 160, 120, 2)
    assert truth.decode_pattern(image[..., ::-1]) == truth.FramePattern(321, 2, bgr=True)
    assert truth.decode_pattern(image.mean(axis=2).astype(np.uint8)) == truth.FramePattern(321, 2, bgr=False)
    frame = av.VideoFrame.from_ndarray(truth.render_frame(321, 640, 480, 2), format="rgb24")
    for width, height in [(224, 224), (96, 72), (1280, 720)]:
        resized = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
        assert truth.frame_number_from_image(resized) == 321


@pytest.mark.parametrize(
    ("codec", "decoder_name", "options"),
    [("libx264", "h264", {"crf": "35"}), ("libsvtav1", "libdav1d", {"crf": "45"})],
)
def test_pattern_survives_lossy_video_at_the_smallest_size(
    codec: str, decoder_name: str, options: dict[str, str]
) -> None:
    width, height, frames = 64, 48, list(range(100, 112))
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base, encoder.options = Fraction(1, 30), options
    packets = []
    for index, frame in enumerate(frames):
        video = av.VideoFrame.from_ndarray(truth.render_frame(frame, width, height), format="rgb24")
        video = video.reformat(format="yuv420p")
        video.pts = index
        packets += encoder.encode(video)
    packets += encoder.encode(None)
    decoder = av.CodecContext.create(decoder_name, "r")
    if encoder.extradata:
        decoder.extradata = encoder.extradata
    decoded = [f.to_ndarray(format="rgb24") for p in [*packets, None] for f in decoder.decode(p)]
    assert [truth.frame_number_from_image(image) for image in decoded] == frames


def test_images_without_the_pattern_raise() -> None:
    with pytest.raises(truth.PatternError, match="gray levels from the threshold"):
        truth.decode_pattern(np.full((48, 64, 3), 128, np.uint8))
    with pytest.raises(truth.PatternError, match="check bits"):
        truth.decode_pattern(255 - truth.render_frame(5, 64, 48))
    with pytest.raises(truth.PatternError, match="cannot carry"):
        truth.decode_pattern(np.zeros((4, 4, 3), np.uint8))


def test_renderer_refuses_too_small_frames() -> None:
    with pytest.raises(ValueError, match="smaller than 64x48"):
        truth.PatternRenderer(32, 24)
