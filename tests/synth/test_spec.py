"""SynthSpec and CameraSpec validation, and the CLI camera list."""

from __future__ import annotations

import pytest

from roboflow.errors import ConfigError
from roboflow.synth import CameraSpec, ImageKind, SynthSpec
from roboflow.synth.spec import parse_cameras


def test_defaults_are_the_documented_recording() -> None:
    spec = SynthSpec()
    assert [(c.name, c.kind, c.width, c.height, c.fps) for c in spec.cameras] == [
        ("cam_high", ImageKind.JPEG, 640, 480, 30.0),
        ("cam_wrist", ImageKind.RGB8, 640, 480, 30.0),
    ]
    assert [c.topic for c in spec.cameras] == ["/cam_high/image_raw/compressed", "/cam_wrist/image_raw"]
    assert (spec.joint_rate_hz, spec.n_joints, spec.action_rate_hz) == (200.0, 14, 50.0)
    assert (spec.joint_topic, spec.action_topic) == ("/joint_states", "/action")
    assert spec.start_time_ns == 1_710_000_000_000_000_000


def test_counts_cover_the_duration() -> None:
    spec = SynthSpec(duration_s=2.0)
    assert (spec.count(30.0), spec.count(200.0), spec.count(7.0)) == (60, 400, 14)
    assert SynthSpec(duration_s=0.05).count(30.0) == 2


def test_kind_given_as_text_becomes_the_enum() -> None:
    assert CameraSpec("c", "rgb8").kind is ImageKind.RGB8  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CameraSpec("front", ImageKind.JPEG, 32, 24), "32x24 is too small"),
        (lambda: CameraSpec("bad name"), "not a valid ROS name"),
        (lambda: CameraSpec("c", "png"), "unknown camera kind 'png'"),  # type: ignore[arg-type]
        (lambda: CameraSpec("c", fps=0), "fps 0 must be a positive"),
        (lambda: SynthSpec(duration_s=0), "duration 0 s must be positive"),
        (lambda: SynthSpec(jitter=0.5), r"jitter 0.5 must be in \[0, 0.5\)"),
        (lambda: SynthSpec(n_joints=0), "n_joints 0"),
        (lambda: SynthSpec(joint_rate_hz=float("nan")), "joint rate nan"),
        (lambda: SynthSpec(cameras=(CameraSpec("a"), CameraSpec("a"))), "topics used twice"),
        (lambda: SynthSpec(cameras=tuple(CameraSpec(f"c{i}") for i in range(17))), "17 cameras are too many"),
        (lambda: SynthSpec(jpeg_quality=0), "JPEG quality 0"),
    ],
)
def test_invalid_specs_are_config_errors(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_parse_cameras() -> None:
    cameras = parse_cameras("front:jpeg, wrist:rgb8:320x240@15,side", width=64, height=48, fps=10)
    assert [(c.name, c.kind.value, c.width, c.height, c.fps) for c in cameras] == [
        ("front", "jpeg", 64, 48, 10.0),
        ("wrist", "rgb8", 320, 240, 15.0),
        ("side", "jpeg", 64, 48, 10.0),
    ]
    assert parse_cameras("none") == ()
    with pytest.raises(ConfigError, match="bad camera 'front:jpeg:big'"):
        parse_cameras("front:jpeg:big")
