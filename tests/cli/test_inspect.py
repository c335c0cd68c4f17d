"""``roboflow inspect``: text and JSON output, directory search, one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sources.builders import BASE_NS, Msg, image_msg, string_msg, write_mcap, write_ros1_bag

from roboflow.cli import main


def _recording(path: Path) -> Path:
    messages = []
    for k in range(30):
        messages.append(Msg("/camera", BASE_NS + k * 100_000_000, image_msg(BASE_NS + k * 100_000_000, 8, 6)))
        messages.append(Msg("/chatter", BASE_NS + k * 100_000_000 + 1, string_msg(str(k))))
    return write_mcap(path, messages, types={"/camera": "sensor_msgs/msg/Image"})


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["inspect", *args])
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(_recording(tmp_path / "rec.mcap")))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[:7] == [
        f"path:      {tmp_path / 'rec.mcap'}",
        "format:    mcap",
        "duration:  2.900 s",
        "start:     2023-11-14T22:13:20.000000000Z",
        "end:       2023-11-14T22:13:22.900000001Z",
        "messages:  60",
        "topics:    2",
    ]
    assert lines[7].split() == ["/camera", "sensor_msgs/msg/Image", "cdr", "30", "10.00", "Hz", "[8x6", "rgb8]"]
    assert lines[8].split() == ["/chatter", "std_msgs/msg/String", "cdr", "30", "10.00", "Hz"]


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--json", str(_recording(tmp_path / "rec.mcap")))
    assert status == 0
    (info,) = json.loads(out)
    assert (info["format"], info["message_count"], info["start_time"]) == ("mcap", 60, BASE_NS)
    assert info["duration_s"] == pytest.approx(2.9, abs=1e-6)
    camera, chatter = info["topics"]
    assert camera == {"topic": "/camera", "type": "sensor_msgs/msg/Image", "message_encoding": "cdr",
                      "message_count": 30, "frequency_hz": pytest.approx(10.0),
                      "image": {"width": 8, "height": 6, "encoding": "rgb8"},
                      "log_range": [BASE_NS, BASE_NS + 2_900_000_000], "header_range": None}
    assert chatter["image"] is None


def test_directories_are_searched_recursively(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    _recording(tmp_path / "a" / "one.mcap")
    write_ros1_bag(tmp_path / "a" / "b" / "two.bag", "lz4")
    (tmp_path / "a" / "README.md").write_text("notes")
    status, out, err = run(capsys, "--json", str(tmp_path))
    assert (status, err) == (0, "")
    assert [(Path(i["path"]).name, i["format"], i["message_count"]) for i in json.loads(out)] == [
        ("two.bag", "ros1bag", 10), ("one.mcap", "mcap", 60)]  # sorted paths: a/b/ before a/one.mcap


def test_bad_input_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.bag").write_bytes(b"")
    status, out, err = run(capsys, str(tmp_path / "empty.bag"))
    assert (status, out) == (2, "")
    assert err.splitlines() == [(f"roboflow: error: {tmp_path / 'empty.bag'}: file is empty (0 bytes) "
                                 "(the recording was never written or the copy failed; re-copy it)")]


def test_truncated_file_reports_the_readable_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _recording(tmp_path / "rec.mcap").read_bytes()
    (tmp_path / "cut.mcap").write_bytes(data[: len(data) // 2])
    status, _, err = run(capsys, str(tmp_path / "cut.mcap"))
    assert status == 2
    (line,) = err.splitlines()
    assert line.startswith(f"roboflow: error: {tmp_path / 'cut.mcap'}: damaged or truncated at byte ")
    assert "messages before the damage are readable" in line


def test_good_and_bad_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _recording(tmp_path / "good.mcap")
    (tmp_path / "bad.mcap").write_bytes(good.read_bytes().replace(b"\r", b""))
    status, out, err = run(capsys, str(good), str(tmp_path / "bad.mcap"))
    assert status == 2
    assert "messages:  60" in out
    assert err.splitlines() == [(f"roboflow: error: {tmp_path / 'bad.mcap'}: bad MCAP magic: the CR bytes of the "
                                 "file were stripped (the file went through a text-mode transfer; copy it again in binary mode)")]


def test_directory_without_recordings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    status, _, err = run(capsys, str(tmp_path))
    assert status == 2
    assert "no recordings found in this directory" in err


def test_every_shared_recording_through_the_real_command(recordings: Path, tmp_path: Path) -> None:
    """The console entry point over the whole folder: readable ones shown, the 11 bad ones one line each."""
    shutil.copytree(recordings, tmp_path / "recordings")
    result = subprocess.run([sys.executable, "-m", "roboflow", "inspect", "--json", str(tmp_path / "recordings")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == 11 and all(line.startswith("roboflow: error: ") for line in errors)
    infos = json.loads(result.stdout)
    assert len(infos) == 21
    assert sum(info["message_count"] for info in infos) == 3 * 8647 + 135 + 3 + 6 + 2 * 188 + 2 * 20 + 3177 + 10 + 7 + 1127 + 1 + 1 + 1 + 3 * 10 + 33


def test_header_clocks_that_differ_from_the_log_clock_are_shown(recordings: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The RealSense bag logs from 0 s (time since start); its cameras stamp from the device clock (~360 s)."""
    status, out, _ = run(capsys, str(recordings / "librealsense/single_depth_color_640x480.bag"))
    assert status == 0
    headers = [line for line in out.splitlines() if line.startswith("header:")]
    assert headers == [
        "header:    /device_0/sensor_0/Depth_0/image/data: stamps 360.815..360.982 s, logged 0.000..0.168 s",
        "header:    /device_0/sensor_1/Color_0/image/data: stamps 360.714..360.714 s, logged 0.054..0.054 s",
    ]
    _, out, _ = run(capsys, "--json", str(recordings / "librealsense/single_depth_color_640x480.bag"))
    topics = {topic["topic"]: topic for topic in json.loads(out)[0]["topics"]}
    assert topics["/device_0/sensor_1/Color_0/image/data"]["header_range"] == [360713523000, 360713523000]
    assert topics["/device_0/info"]["header_range"] is None  # no header
    _, out, _ = run(capsys, str(_recording(tmp_path / "rec.mcap")))  # its images are stamped at their log times
    assert "header:" not in out and "[8x6 rgb8]" in out


def test_an_undecodable_camera_is_reported_by_inspect(recordings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The rosbags_rs bag's images are 30 bytes under a 640x480 header, its JPEG 10 bytes: convert would fail."""
    status, out, _ = run(capsys, str(recordings / "rosbags_rs/test_bag_mcap"))
    assert status == 0
    lines = out.splitlines()
    image = next(line for line in lines if line.startswith("  /test/sensor_msgs/image "))
    assert image.endswith("[640x480 rgb8, undecodable]")
    cameras = [line for line in lines if line.startswith("camera:")]
    assert len(cameras) == 2
    assert re.fullmatch(r"camera:    cannot decode the first frame: /test/sensor_msgs/compressed_image at t=\d+\.\d+ s: "
                        r"corrupt JPEG \(10 bytes\): .* \(the image data is truncated or damaged\)", cameras[0])
    assert re.fullmatch(r"camera:    cannot decode the first frame: /test/sensor_msgs/image at t=\d+\.\d+ s: rgb8 image "
                        r"header says 640x480 \(step 1920\), which needs 921600 bytes, but the message has 30 .*",
                        cameras[1])
    _, out, _ = run(capsys, "--json", str(recordings / "librealsense/single_depth_color_640x480.bag"))
    images = [topic["image"] for topic in json.loads(out)[0]["topics"] if topic["image"]]
    assert [image.get("error") for image in images] == [None, None]  # real frames, depth included, decode
def test_rrd_shows_timelines_static_entities_and_rates_on_the_data_clock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from roboflow.synth import CameraSpec, SynthSpec, write_recording

    spec = SynthSpec(duration_s=1.0, cameras=(CameraSpec("front", "jpeg", 64, 48),), n_joints=2)
    path = write_recording(tmp_path / "r.rrd", spec).path
    status, out, _ = run(capsys, str(path))
    assert status == 0
    lines = out.splitlines()
    assert "duration:  0.9" in out and "clock:     time " in out
    assert any(line.startswith("timelines: time  timestamp  2024-03-09T16:00:00") for line in lines)
    assert any(line.split()[:2] == ["log_time", "timestamp"] for line in lines)
    rows = {line.split()[0]: line for line in lines if line.startswith("  /")}
    assert rows["/robot/urdf"].split()[-1] == "static" and rows["/__properties"].split()[-1] == "static"
    rates = {topic: float(line.split(" Hz")[0].split()[-1]) for topic, line in rows.items() if " Hz" in line}
    assert rates == pytest.approx({"/camera/front": 30, "/camera/depth": 30, "/robot/joints": 200,
                                   "/robot/action/joint_0": 50, "/robot/action/joint_1": 50}, rel=0.01)
    assert "[64x48 image/jpeg (jpeg)]" in rows["/camera/front"]
    assert "[64x48 uint16, 1000 per meter]" in rows["/camera/depth"]
    info = json.loads(run(capsys, "--json", str(path))[1])[0]
    assert info["clock"] == "time" and [t["name"] for t in info["timelines"]] == ["time", "log_time"]
    assert info["timelines"][0]["start"] == info["start_time"]


def test_rrd_with_several_timestamp_timelines_says_convert_needs_a_choice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import rerun as rr

    path = tmp_path / "two_clocks.rrd"
    recording = rr.RecordingStream("roboflow-tests", recording_id=path.name)
    recording.save(path)
    recording.reset_time()
    for k in range(3):
        recording.set_time("sensor_time", timestamp=1_600_000_000 + k)
        recording.set_time("time", timestamp=1_700_000_000 + k / 10)
        recording.log("/joint", rr.Scalars([k]))
    recording.flush()
    recording.disconnect()
    status, out, _ = run(capsys, str(path))
    assert status == 0
    assert ('clock:     sensor_time (times and rates; the first of 2 timestamp timelines: convert needs '
            '[source] timeline = "...")') in out
    assert "duration:  2.000 s" in out


def test_warnings_read_like_the_commands_own_lines_and_verbose_adds_where_from(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    assert main(["synth", str(bag), "--duration", "1", "--cameras", "none"]) is None
    (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: [1\n")
    command = [sys.executable, "-m", "roboflow", "inspect", str(bag)]
    plain = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert plain.stderr.splitlines() == [
        (f"roboflow: warning: {bag}: metadata.yaml unreadable (line 2, column 1: expected ',' or ']', but got "
        "'<stream end>'); reading the storage files directly")
    ]
    verbose = subprocess.run([*command[:3], "-v", *command[3:]], capture_output=True, text=True, timeout=120,
                             check=True)
    (line,) = [x for x in verbose.stderr.splitlines() if "metadata.yaml unreadable" in x]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING roboflow\.sources\.rosbag2: ", line)
