"""Hardware encoders: the one-frame probe, ``codec = "auto"`` and its fallback, named encoders refused early.

The hardware path itself cannot run here (no GPU, no media engine); tests whose premise is that an encoder
does not open skip where it does.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from cli_main import run

from roboflow.config import parse_config
from roboflow.errors import ConfigError
from roboflow.media.encoder import VideoEncoder
from roboflow.media.frames import PixelLayout, to_video_frame
from roboflow.media.hardware import probe_encoder, resolve_encoder
from roboflow.media.probe import video_info
from roboflow.media.settings import AUTO_FALLBACK, HARDWARE_ORDER, VideoSettings
from roboflow.synth import CameraSpec, SynthSpec, write_recording

MINIMAL = """
[dataset]
name = "hw"
fps = 10

[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"
"""


def unavailable(codec: str) -> VideoSettings:
    """Settings for a hardware encoder that does not open on this machine (skips the test where it does)."""
    settings = VideoSettings(codec=codec)
    if probe_encoder(settings) is None:
        pytest.skip(f"{codec} opens on this machine")
    return settings


def test_probe_opens_a_software_encoder() -> None:
    assert probe_encoder(VideoSettings(codec="libx264")) is None


def test_probe_gives_ffmpegs_reason_for_an_encoder_without_hardware() -> None:
    reason = probe_encoder(unavailable("h264_nvenc"))
    assert reason is not None and "h264_nvenc" in reason


def test_probe_gives_the_reason_for_an_encoder_missing_from_the_build() -> None:
    settings = VideoSettings(codec="h264_videotoolbox")
    try:
        av.codec.Codec("h264_videotoolbox", "w")
    except av.codec.codec.UnknownCodecError:
        assert probe_encoder(settings) is not None
    else:
        pytest.skip("this PyAV build has VideoToolbox")


def test_probe_refuses_options_the_encoder_rejects() -> None:
    reason = probe_encoder(VideoSettings(codec="libx264", preset="no-such-preset"))
    assert reason is not None


@pytest.mark.parametrize(
    ("settings", "options"),
    [
        (VideoSettings(codec="h264_nvenc"), {"g": "2", "rc": "constqp", "qp": "23"}),
        (
            VideoSettings(codec="av1_nvenc", qp=30, preset="p5"),
            {"g": "2", "rc": "constqp", "qp": "30", "preset": "p5"},
        ),
        (VideoSettings(codec="h264_qsv", qp=20, gop=None), {"global_quality": "20"}),
        (VideoSettings(codec="h264_vaapi", qp=18), {"g": "2", "qp": "18"}),
        (VideoSettings(codec="hevc_videotoolbox", qp=23), {"g": "2", "q:v": "54"}),
    ],
    ids=["nvenc-default-qp", "av1-nvenc", "qsv", "vaapi", "videotoolbox"],
)
def test_hardware_quality_options(settings: VideoSettings, options: dict[str, str]) -> None:
    assert settings.encoder_options() == options


def test_quick_sync_is_fed_nv12() -> None:
    assert VideoSettings(codec="h264_qsv").input_pix_fmt == "nv12"
    assert VideoSettings(codec="h264_nvenc").input_pix_fmt == "yuv420p"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codec": "h264_nvenc", "crf": 20}, "takes qp, not crf"),
        ({"codec": "auto", "crf": 20}, "takes qp, not crf"),
        ({"codec": "libx264", "qp": 20}, "takes crf, not qp"),
        ({"codec": "hevc_nvenc", "qp": 52}, "between 0 and 51"),
        ({"codec": "nvenc"}, "unknown video codec"),
    ],
)
def test_quality_option_must_fit_the_encoder(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VideoSettings(**kwargs)  # type: ignore[arg-type]


def test_auto_takes_the_first_candidate_that_opens() -> None:
    nvenc = unavailable("h264_nvenc").codec
    resolved = resolve_encoder(VideoSettings(codec="auto"), candidates=(nvenc, "libx264", "libx265"))
    assert resolved.settings.codec == "libx264"
    assert resolved.note == "video codec auto: libx264 (a hardware encoder that opens here)"


def test_auto_falls_back_to_libsvtav1_and_says_so() -> None:
    candidates = [name for name in HARDWARE_ORDER if probe_encoder(VideoSettings(codec=name)) is not None]
    if candidates != list(HARDWARE_ORDER):
        pytest.skip("a hardware encoder opens on this machine")
    resolved = resolve_encoder(VideoSettings(codec="auto", qp=30))
    assert resolved.settings == VideoSettings(codec=AUTO_FALLBACK)
    assert resolved.note is not None
    assert resolved.note.startswith(
        f"video codec auto: {AUTO_FALLBACK} (no hardware encoder opens here; tried "
    )
    assert "h264_nvenc" in resolved.note


def test_named_hardware_encoder_without_hardware_fails_at_config_check() -> None:
    unavailable("hevc_nvenc")
    with pytest.raises(
        ConfigError, match=r"\[video\]: video codec 'hevc_nvenc' cannot encode on this machine"
    ):
        parse_config(MINIMAL + '[video]\ncodec = "hevc_nvenc"\nqp = 20\n')


def test_config_takes_auto_and_qp() -> None:
    config = parse_config(MINIMAL + '[video]\ncodec = "auto"\nqp = 25\n')
    assert (config.video.codec, config.video.qp) == ("auto", 25)
    with pytest.raises(ConfigError, match=r"\[video\]: video codec 'libx264' takes crf, not qp"):
        parse_config(MINIMAL + '[video]\ncodec = "libx264"\nqp = 25\n')


def test_encoder_resolves_auto_and_writes_a_readable_video(tmp_path: Path) -> None:
    """A VideoEncoder given ``auto`` encodes with what the probe chose (libsvtav1 on a machine without GPU)."""
    settings = VideoSettings(codec="auto", preset="13")
    chosen = resolve_encoder(settings).settings
    path = tmp_path / "auto.mp4"
    encoder = VideoEncoder(path, width=64, height=48, fps=10, settings=settings)
    for k in range(4):
        encoder.encode(to_video_frame(np.full((48, 64, 3), 40 * k, dtype=np.uint8), PixelLayout.RGB))
    assert encoder.close() == 4
    assert video_info(path)["video.codec"] == chosen.spec.canonical


def demo_config(tmp_path: Path, video: str) -> Path:
    """examples/demo.toml with another [video] table."""
    text = (Path(__file__).resolve().parents[2] / "examples" / "demo.toml").read_text()
    head, _, _ = text.partition("[video]")
    path = tmp_path / "demo.toml"
    path.write_text(f"{head}[video]\n{video}\n")
    return path


def test_convert_says_which_encoder_auto_chose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cameras = (CameraSpec("cam_high", "jpeg", 64, 48), CameraSpec("cam_wrist", "rgb8", 64, 48))
    write_recording(tmp_path / "demo.mcap", SynthSpec(duration_s=0.5, cameras=cameras))
    config = demo_config(tmp_path, 'codec = "auto"\npreset = "13"')
    out = tmp_path / "out"
    assert (
        run("convert", str(tmp_path / "demo.mcap"), "-c", str(config), "-o", str(out), "--no-progress") == 0
    )
    chosen = resolve_encoder(VideoSettings(codec="auto", preset="13"))
    assert f"roboflow: {chosen.note}\n" in capsys.readouterr().err
    info = json.loads((out / "meta/info.json").read_text())
    assert (
        info["features"]["observation.images.cam_high"]["info"]["video.codec"]
        == chosen.settings.spec.canonical
    )


def test_convert_refuses_a_hardware_codec_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unavailable("h264_nvenc")
    config = demo_config(tmp_path, 'codec = "h264_nvenc"\nqp = 20')
    assert run("convert", str(tmp_path / "missing.mcap"), "-c", str(config), "-o", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"roboflow: error: {config}: [video]: video codec 'h264_nvenc' cannot encode on this machine"
    )
