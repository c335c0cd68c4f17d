"""Datasets our writer and merge produce load and iterate in the real lerobot library.

lerobot pins its own torch, so it lives in a venv of its own; the tests run ``lerobot_load.py`` (beside this
file) with that venv's python, given by ``ROBOFLOW_LEROBOT_PYTHON`` (lerobot 0.4.x, reads v3.0) and
``ROBOFLOW_LEROBOT21_PYTHON`` (lerobot 0.3.x, reads v2.1). Without them the tests are skipped: CI has no
lerobot. See docs/compat.md for building the venvs.

Every frame shows the synthetic frame pattern of a content id (readable after lossy coding) and carries
vectors that are exact functions of it, so the checker's dump of what lerobot decoded is compared, item by
item, with what was written: the right frame of the right camera, the exact state and action.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from roboflow.lerobot.assemble import FileLimits
from roboflow.lerobot.dataset import DatasetWriter
from roboflow.lerobot.merge import merge_datasets
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, VectorFeature
from roboflow.media.settings import VideoSettings
from roboflow.synth import CameraSpec, SynthSpec, stream_times, write_recording
from roboflow.synth.truth import action, decode_pattern, joint_positions, render_frame, seconds

CHECKER = Path(__file__).with_name("lerobot_load.py")
PYTHON_V30 = "ROBOFLOW_LEROBOT_PYTHON"
PYTHON_V21 = "ROBOFLOW_LEROBOT21_PYTHON"
BACKEND = "ROBOFLOW_LEROBOT_VIDEO_BACKEND"
FPS = 10
CAMERAS = ("observation.images.front", "observation.images.wrist")
SPEC = DatasetSpec(
    fps=FPS,
    robot_type="testbot",
    vectors=(VectorFeature("observation.state", ("j0", "j1", "j2")), VectorFeature("action", ("j0", "j1"))),
    cameras=tuple(CameraFeature(key, 48, 64) for key in CAMERAS),
)
X264 = VideoSettings(codec="libx264", preset="ultrafast", crf=20)
#: lerobot 0.4's own encoder settings (libsvtav1 preset 12 crf 30 g 2); the default is libx264.
AV1 = VideoSettings(codec="libsvtav1", preset="12")
#: Episodes of different lengths and tasks; the second changes task halfway (a task_index per frame), the
#: third has a single frame (padded on both sides by delta_timestamps).
EPISODES = (
    ("pick the red cube",) * 7,
    ("place it in the bowl",) * 3 + ("pick the red cube",) * 2,
    ("wave",),
)
CONVERT_TASK = "follow the synthetic trajectory"
CONVERTED_CAMERAS = ("observation.images.cam_high", "observation.images.cam_wrist")
#: synth's default topics; x264 at high quality so the frame pattern survives JPEG and video coding at 64x48.
CONVERT_CONFIG = f"""
[dataset]
name = "compat"
fps = {FPS}
task = "{CONVERT_TASK}"

[[mappings]]
topic = "/cam_high/image_raw/compressed"
feature = "{CONVERTED_CAMERAS[0]}"
mapping_type = "image"

[[mappings]]
topic = "/cam_wrist/image_raw"
feature = "{CONVERTED_CAMERAS[1]}"
mapping_type = "image"

[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"

[[mappings]]
topic = "/action"
feature = "action"
mapping_type = "action"
names = ["joint_0", "joint_1", "joint_2"]

[video]
codec = "libx264"
crf = 10
preset = "ultrafast"
"""
#: A Rerun recording logged offline: a JPEG and an h264 VideoStream camera at the dataset fps (plus synth's
#: depth camera of the first), joints at 50 Hz, actions at 20 Hz.
RRD_SPEC = SynthSpec(
    duration_s=2.0, cameras=(CameraSpec("cam_high", "jpeg", 64, 48, FPS), CameraSpec("cam_wrist", "h264", 64, 48, FPS)),
    n_joints=3, joint_rate_hz=50.0, action_rate_hz=20.0, jpeg_quality=95,
)
#: A grayscale camera (stored as a 3-channel video) instead of the first RGB one.
GRAY_SPEC = dataclasses.replace(
    SPEC, cameras=(CameraFeature(CAMERAS[0], 48, 64, channels=1), SPEC.cameras[1])
)
#: A one-element vector (a gripper): lerobot keeps shape-[1] features as scalar columns.
SCALAR_SPEC = dataclasses.replace(SPEC, vectors=(*SPEC.vectors, VectorFeature("observation.gripper", ("g",))))
#: v3.0 limits that force every episode into files of its own, one chunk per file.
TINY_FILES = FileLimits(chunks_size=1, data_files_size_in_mb=1e-6, video_files_size_in_mb=1e-6)


@dataclass(frozen=True)
class Written:
    """A dataset and, per row, the content id and task written there."""

    root: Path
    ids: tuple[int, ...]
    tasks: tuple[str, ...]
    lengths: tuple[int, ...]
    spec: DatasetSpec = SPEC
    #: Per feature, the value expected at each row, as computed from the source recording's ground truth.
    truth: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def state_of(content: int) -> np.ndarray:
    return np.array([content, content * 0.5, -content], dtype=np.float32)


def action_of(content: int) -> np.ndarray:
    return np.array([content + 0.25, 1.0], dtype=np.float32)


def gripper_of(content: int) -> np.ndarray:
    return np.array([content + 0.5], dtype=np.float32)


VALUES: dict[str, Callable[[int], np.ndarray]] = {
    "observation.state": state_of,
    "action": action_of,
    "observation.gripper": gripper_of,
}


def frame_of(content: int, spec: DatasetSpec) -> dict[str, np.ndarray]:
    frame = {vector.key: VALUES[vector.key](content) for vector in spec.vectors}
    for index, camera in enumerate(spec.cameras):
        image = render_frame(content, camera.width, camera.height, camera=index)
        frame[camera.key] = image if camera.channels == 3 else image[:, :, 0].copy()
    return frame


def write(
    root: Path,
    episodes: Sequence[Sequence[str]],
    *,
    format: str,
    first_id: int = 0,
    video: VideoSettings | None = None,
    limits: FileLimits | None = None,
    spec: DatasetSpec = SPEC,
) -> Written:
    ids: list[int] = []
    tasks: list[str] = []
    with DatasetWriter(root, spec, format=format, video=video, limits=limits) as writer:
        for episode in episodes:
            for task in episode:
                content = first_id + len(ids)
                writer.add_frame(frame_of(content, spec), task)
                ids.append(content)
                tasks.append(task)
            writer.save_episode()
    return Written(root, tuple(ids), tuple(tasks), tuple(len(e) for e in episodes), spec)


def merged(directory: Path, *, format: str, shards: Sequence[str]) -> Written:
    """One shard per episode (as ``roboflow convert`` writes them) in the given versions, merged in order."""
    parts = []
    first = 0
    for number, (episode, shard_format) in enumerate(zip(EPISODES, shards, strict=True)):
        parts.append(
            write(directory / f"shard{number}", [episode], format=shard_format, first_id=first, video=X264)
        )
        first += len(episode)
    out = directory / "merged"
    merge_datasets([str(s.root) for s in parts], str(out), format=format)
    return Written(
        out,
        tuple(i for s in parts for i in s.ids),
        tuple(t for s in parts for t in s.tasks),
        tuple(n for s in parts for n in s.lengths),
    )


def synth_recordings(directory: Path) -> list[Path]:
    """Two short recordings (MCAP and ROS1 bag) from ``roboflow synth``, with 64x48 cameras at the dataset fps."""
    recordings = []
    for name, duration in (("long.mcap", "2"), ("short.bag", "1.5")):
        path = directory / name
        run_roboflow(
            "synth", str(path), "--duration", duration, "--size", "64x48", "--fps", str(FPS),
            "--joints", "3", "--joint-rate", "50", "--action-rate", "20",
        )  # fmt: skip
        recordings.append(path)
    return recordings


def converted(directory: Path, *, format: str) -> Written:
    """``roboflow convert`` of two synth recordings; ids are the camera frame expected at each row."""
    directory.mkdir(parents=True)
    config = directory / "convert.toml"
    config.write_text(CONVERT_CONFIG)
    out = directory / "out"
    run_roboflow("convert", *map(str, synth_recordings(directory)), "-c", str(config), "-o", str(out),
                 "--format", format, "--no-progress")  # fmt: skip
    episodes = pq.read_table(out / "data", columns=["episode_index", "frame_index"]).to_pydict()
    lengths = [episodes["episode_index"].count(index) for index in sorted(set(episodes["episode_index"]))]
    return Written(out, tuple(episodes["frame_index"]), (CONVERT_TASK,) * sum(lengths), tuple(lengths))


def converted_rrd(directory: Path, *, format: str) -> Written:
    """A Rerun episode logged offline (the rrd synth: JPEG, h264 ``VideoStream`` and depth cameras, Scalars on the
    user timeline ``time``), converted with ``init-config``'s starter unchanged; ``truth`` from the synth's ground
    truth at each frame's time (state and action held, cameras nearest, depth as gray ten times its frame's)."""
    directory.mkdir(parents=True)
    recording = write_recording(directory / "offline.rrd", RRD_SPEC).path
    config, out = directory / "starter.toml", directory / "out"
    run_roboflow("init-config", str(recording), "-o", str(config))
    run_roboflow("convert", str(recording), "-c", str(config), "-o", str(out), "--format", format, "--no-progress")
    length = pq.read_table(out / "data", columns=["frame_index"]).num_rows
    alignment = json.loads((out / "meta" / "roboflow.json").read_text())["episodes"][0]["alignment"][0]
    fps, ns = alignment["fps"], 1_000_000_000
    t = alignment["start_ns"] + (2 * np.arange(length, dtype=np.int64) * ns + fps) // (2 * fps)
    joints, _ = stream_times(RRD_SPEC, RRD_SPEC.joint_topic)
    _, actions = stream_times(RRD_SPEC, RRD_SPEC.action_topic)
    truth = {
        "observation.state": joint_positions(seconds(joints[_held(joints, t)]), 3).astype(np.float32),
        "action": action(seconds(actions[_held(actions, t)])[:, None], np.arange(3)).astype(np.float32),
    }
    for camera in RRD_SPEC.cameras:
        stamps, _ = stream_times(RRD_SPEC, camera.topic)
        nearest = _held(stamps, t)
        later = np.clip(nearest + 1, 0, len(stamps) - 1)
        truth[f"observation.images.{camera.name}"] = np.where(stamps[later] - t < t - stamps[nearest], later, nearest)
    truth["observation.images.depth"] = truth[f"observation.images.{RRD_SPEC.cameras[0].name}"]
    cameras = (f"observation.images.{name}" for name in ("depth", *(c.name for c in RRD_SPEC.cameras)))
    spec = dataclasses.replace(SPEC, cameras=tuple(CameraFeature(key, 48, 64) for key in cameras))
    return Written(out, tuple(range(length)), ("describe the task",) * length, (length,), spec, truth)


def _held(times: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the latest time at or before each t (0 before the first)."""
    return np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)


def run_roboflow(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "roboflow", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"roboflow {args[0]} failed:\n{done.stdout}\n{done.stderr}"


def lerobot_python(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"{variable} is not set: point it at the python of a venv with lerobot (docs/compat.md)")
    python = Path(value)
    if not os.access(python, os.X_OK):
        pytest.fail(f"{variable}={value} is not an executable python")
    return python


def load_in_lerobot(python: Path, roots: Sequence[Path], dump: Path, *args: str) -> list[dict[str, Any]]:
    """Run the checker once over ``roots``; one report per root (``ok`` false with stage and error on failure)."""
    backend = os.environ.get(BACKEND, "pyav")
    command = [
        str(python),
        str(CHECKER),
        *map(str, roots),
        "--video-backend",
        backend,
        "--dump",
        str(dump),
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    try:
        reports = [json.loads(line) for line in done.stdout.splitlines()]
    except json.JSONDecodeError:
        pytest.fail(
            f"checker printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}"
        )
    assert len(reports) == len(roots), f"checker exit {done.returncode}: {done.stderr[-3000:]}"
    assert done.returncode == (0 if all(r["ok"] for r in reports) else 1)
    return reports


def accepted(report: dict[str, Any]) -> dict[str, Any]:
    if not report["ok"]:
        pytest.fail(f"lerobot rejected {report['dataset']}: [{report['stage']}] {report['error']}")
    return report


def assert_common(report: dict[str, Any], written: Written, version: str) -> None:
    assert report["codebase_version"] == version
    assert report["warnings"] == []
    assert report["total_frames"] == len(written.ids)
    assert [ep["length"] for ep in report["episodes"]] == list(written.lengths)
    assert report["items_checked"] == len(written.ids)
    assert report["delta_items_checked"] == 2 * len(written.lengths)
    assert report["streamed_items"] == (0 if report["streaming_skipped"] else len(written.ids))
    cameras = {key: f["shape"] for key, f in report["features"].items() if f["dtype"] == "video"}
    assert list(cameras.values()) == [[48, 64, 3]] * len(written.spec.cameras)
    assert [s["task"] for s in report["samples"]] == list(written.tasks)
    for ep in report["episodes"]:
        assert ep["tasks"] == list(dict.fromkeys(written.tasks[ep["from"] : ep["to"]]))


def camera_entries(report: dict[str, Any], row: int, camera: str) -> list[str]:
    """Dump entries of a camera frame: from the map-style dataset and, if it ran, the streaming one."""
    return [f"{row}|{camera}"] + ([f"stream:{row}|{camera}"] if report["streamed_items"] else [])


def assert_written(report: dict[str, Any], written: Written, version: str) -> None:
    """What lerobot gave back, item by item, is what was written: frame, camera, state and action."""
    assert_common(report, written, version)
    with np.load(report["dump"]) as arrays:
        for row, content in enumerate(written.ids):
            for vector in written.spec.vectors:
                expected = VALUES[vector.key](content)
                # a one-element vector comes back as a scalar, as lerobot stores shape [1] features
                np.testing.assert_array_equal(
                    arrays[f"{row}|{vector.key}"], expected[0] if vector.size == 1 else expected, strict=True
                )
            for index, camera in enumerate(c.key for c in written.spec.cameras):
                for name in camera_entries(report, row, camera):
                    pattern = decode_pattern(arrays[name])
                    assert (pattern.frame, pattern.camera) == (content, index), name


def assert_converted(report: dict[str, Any], written: Written, version: str) -> None:
    """Row k of an episode shows camera frame k of its recording (cameras run at the dataset fps)."""
    assert_common(report, written, version)
    assert report["tasks"] == {"0": CONVERT_TASK}
    assert written.lengths[0] > written.lengths[1] > 0
    with np.load(report["dump"]) as arrays:
        for row, frame in enumerate(written.ids):
            assert arrays[f"{row}|observation.state"].shape == (3,)
            for index, camera in enumerate(CONVERTED_CAMERAS):
                for name in camera_entries(report, row, camera):
                    pattern = decode_pattern(arrays[name])
                    assert (pattern.frame, pattern.camera) == (frame, index), name


def assert_converted_rrd(report: dict[str, Any], written: Written, version: str) -> None:
    """Row by row, lerobot gives the recording's state and action, the right frame of each camera, and the depth
    camera's gray level of that frame."""
    assert_common(report, written, version)
    assert 19 <= written.lengths[0] <= 20  # 2 s at 10 fps: the data's clock, not the logger's
    depth_grays = [render_frame(k, 64, 48).mean(axis=2).round() * 10 * 255 / 4000 for k in range(20)]
    with np.load(report["dump"]) as arrays:
        for row in written.ids:
            for vector in ("observation.state", "action"):
                np.testing.assert_array_equal(arrays[f"{row}|{vector}"], written.truth[vector][row], strict=True)
            for index, camera in enumerate(c.name for c in RRD_SPEC.cameras):
                key = f"observation.images.{camera}"
                for name in camera_entries(report, row, key):
                    pattern = decode_pattern(arrays[name])
                    assert (pattern.frame, pattern.camera) == (written.truth[key][row], index), name
            depth = arrays[f"{row}|observation.images.depth"][:, :, 0].astype(np.float32)
            shown = int(np.argmin([np.abs(depth - gray).mean() for gray in depth_grays]))
            assert shown == written.truth["observation.images.depth"][row], row


Case = tuple[Callable[[Path], Written], Callable[[dict[str, Any], Written, str], None]]
CASES: dict[str, dict[str, Case]] = {
    "v3.0": {
        "written-default": (lambda d: write(d, EPISODES, format="v3.0"), assert_written),
        "written-av1": (lambda d: write(d, EPISODES, format="v3.0", video=AV1), assert_written),
        "written-gray-camera": (
            lambda d: write(d, EPISODES, format="v3.0", video=X264, spec=GRAY_SPEC),
            assert_written,
        ),
        "written-one-element-vector": (
            lambda d: write(d, EPISODES, format="v3.0", video=X264, spec=SCALAR_SPEC),
            assert_written,
        ),
        "written-h264-file-per-episode": (
            lambda d: write(d, EPISODES, format="v3.0", video=X264, limits=TINY_FILES),
            assert_written,
        ),
        "merged-v30-v21-v30-shards": (
            lambda d: merged(d, format="v3.0", shards=("v3.0", "v2.1", "v3.0")),
            assert_written,
        ),
        "roboflow-convert": (lambda d: converted(d, format="v3.0"), assert_converted),
        "roboflow-convert-rrd-starter": (lambda d: converted_rrd(d, format="v3.0"), assert_converted_rrd),
    },
    "v2.1": {
        "written-default": (lambda d: write(d, EPISODES, format="v2.1"), assert_written),
        "written-av1": (lambda d: write(d, EPISODES, format="v2.1", video=AV1), assert_written),
        "written-gray-camera": (
            lambda d: write(d, EPISODES, format="v2.1", video=X264, spec=GRAY_SPEC),
            assert_written,
        ),
        "written-one-element-vector": (
            lambda d: write(d, EPISODES, format="v2.1", video=X264, spec=SCALAR_SPEC),
            assert_written,
        ),
        "merged-v21-v30-v21-shards": (
            lambda d: merged(d, format="v2.1", shards=("v2.1", "v3.0", "v2.1")),
            assert_written,
        ),
        "roboflow-convert": (lambda d: converted(d, format="v2.1"), assert_converted),
        "roboflow-convert-rrd-starter": (lambda d: converted_rrd(d, format="v2.1"), assert_converted_rrd),
    },
}
PYTHONS = {"v3.0": (PYTHON_V30, "0.4."), "v2.1": (PYTHON_V21, "0.3.")}


Outcome = tuple[Written, dict[str, Any]] | BaseException


@pytest.fixture(scope="module")
def lerobot_reports(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Outcome]]:
    """Per version: every case written, then loaded in lerobot by one checker run (torch imports once).

    A case whose writing fails keeps its exception, so the other cases are still checked.
    """
    done: dict[str, dict[str, Outcome]] = {}

    def reports(version: str) -> dict[str, Outcome]:
        variable, release = PYTHONS[version]
        python = lerobot_python(variable)
        if version not in done:
            base = tmp_path_factory.mktemp(f"lerobot-{version}")
            outcomes: dict[str, Outcome] = {}
            written: dict[str, Written] = {}
            for name, (build, _) in CASES[version].items():
                try:
                    written[name] = build(base / name)
                except Exception as err:  # noqa: BLE001 -- re-raised by that case's test
                    outcomes[name] = err
            if written:
                # StreamingLeRobotDataset (lerobot 0.4) always decodes with torchcodec
                streaming = (
                    ["--streaming"] if version == "v3.0" and os.environ.get(BACKEND) == "torchcodec" else []
                )
                results = load_in_lerobot(
                    python, [w.root for w in written.values()], base / "dumps", *streaming
                )
                assert all(r.get("lerobot", release).startswith(release) for r in results), results
                outcomes.update({name: (written[name], r) for name, r in zip(written, results, strict=True)})
            done[version] = outcomes
        return done[version]

    return reports


#: Incompatibilities found by these tests and not fixed yet in the writer (strict: a fix makes them fail,
#: so the entry is removed with the fix).
KNOWN_INCOMPATIBLE: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(
    ("version", "case"),
    [
        pytest.param(
            version,
            case,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_INCOMPATIBLE[version, case])]
            if (version, case) in KNOWN_INCOMPATIBLE
            else [],
        )
        for version, cases in CASES.items()
        for case in cases
    ],
)
def test_loads_and_iterates_in_lerobot(lerobot_reports: Any, version: str, case: str) -> None:
    outcome = lerobot_reports(version)[case]
    if isinstance(outcome, BaseException):
        raise outcome
    written, report = outcome
    CASES[version][case][1](accepted(report), written, version)


def test_checker_reports_a_broken_dataset(tmp_path: Path) -> None:
    """The checker fails loudly, naming the stage and the file, rather than pass what lerobot cannot read."""
    python = lerobot_python(PYTHON_V30)
    good = write(tmp_path / "good", EPISODES[:1], format="v3.0", video=X264)
    broken = write(tmp_path / "broken", EPISODES[:1], format="v3.0", video=X264)
    (broken.root / "meta" / "tasks.parquet").unlink()
    good_report, broken_report = load_in_lerobot(
        python, [good.root, broken.root], tmp_path / "dumps", "--no-delta"
    )
    assert good_report["ok"] is True
    assert (broken_report["ok"], broken_report["stage"]) == (False, "metadata")
    assert "tasks.parquet" in broken_report["error"]
