"""``roboflow synth`` end to end: the console entry point, its output and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from roboflow.cli import main


def test_writes_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str], reader: object) -> None:
    out = tmp_path / "demo.bag"
    main(
        [
            "synth",
            str(out),
            "--duration",
            "0.5",
            "--cameras",
            "front:jpeg,wrist:rgb8:96x72@10",
            "--size",
            "64x48",
            "--joints",
            "3",
            "--compression",
            "lz4",
            "--seed",
            "5",
        ]
    )
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out} (ros1, lz4): 4 topics, 145 messages, 0.5 s, ")
    assert line.endswith("MB/s)")
    recording = reader(out, "ros1")  # type: ignore[operator]
    assert {topic: len(m) for topic, m in recording.items()} == {
        "/front/image_raw/compressed": 15,
        "/wrist/image_raw": 5,
        "/joint_states": 100,
        "/action": 25,
    }
    assert recording["/wrist/image_raw"][0].msg.width == 96


def test_errors_are_one_line_with_exit_status_2(tmp_path: Path) -> None:
    out = tmp_path / "x.mcap"
    out.write_bytes(b"")
    for args, message in [
        ([str(out)], f"roboflow: error: {out}: exists already, not overwriting (pass --overwrite)"),
        ([str(tmp_path / "y.mcap"), "--size", "64by48"], "roboflow: error: bad size '64by48'"),
        ([str(tmp_path / "y.mcap"), "--jitter", "0.7"], "roboflow: error: jitter 0.7 must be in [0, 0.5)"),
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "roboflow", "synth", *args], capture_output=True, text=True, check=False
        )
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith(message) and run.stderr.count("\n") == 1


def test_help_explains_formats_and_truth() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "roboflow", "synth", "--help"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0
    for text in ("ros2-sqlite3", "--overwrite", "NAME:KIND[:WxH][@FPS]", "frame number", "header stamp"):
        assert text in run.stdout
