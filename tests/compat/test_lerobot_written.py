"""Datasets written by the real lerobot: validate accepts them, merge reads them (alone, with a roboflow
shard, across versions, images kept or encoded into videos) and what it writes loads back in both lerobots
with every value as written.

lerobot 0.4.4 (``ROBOFLOW_LEROBOT_PYTHON``) writes v3.0, lerobot 0.3.3 (``ROBOFLOW_LEROBOT21_PYTHON``) v2.1,
through ``LeRobotDataset.create`` + ``add_frame`` + ``save_episode`` (``lerobot_write.py``): 2 episodes x 40
frames, two tasks, a camera stored as video or as images, float32 state and action, and bool, int64 and
string features. Every value is a function of the frame's content id (unique across datasets), so a row that
lerobot gives back names the row it came from. Skipped without the venvs (docs/compat.md).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from roboflow.lerobot.dataset import DatasetWriter
from roboflow.lerobot.merge import merge_datasets
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, VectorFeature
from roboflow.lerobot.validate import validate_dataset
from roboflow.media.settings import VideoSettings
from roboflow.synth.truth import decode_pattern, render_frame

from .test_lerobot_compat import PYTHON_V21, PYTHON_V30, accepted, lerobot_python, load_in_lerobot

#: Three datasets written in each lerobot, 15 merges, 17 datasets loaded item by item: minutes, not seconds.
pytestmark = pytest.mark.timeout(1500)

WRITER = Path(__file__).with_name("lerobot_write.py")
FPS = 10
CAMERA = "observation.images.front"
TASKS = (("pick the red cube",) * 40, ("place it in the bowl",) * 20 + ("pick the red cube",) * 20)
#: The codec lerobot 0.4.4 is asked for: its libsvtav1 (PyAV 15's SVT-AV1 at preset 12) shows the previous
#: frame in most inter frames of these 64x48 patterns; lerobot 0.3.3 has no choice (libsvtav1, sharp here).
LEROBOT04_CODEC = "h264"
#: A roboflow shard encoded as each lerobot's videos are (codec, yuv420p), so the video info agrees.
SHARD_VIDEO = {
    "v3.0": VideoSettings(codec="libx264", preset="ultrafast", crf=18),
    "v2.1": VideoSettings(codec="libsvtav1", preset="12", crf=20),
}


def state_of(content: int) -> np.ndarray:
    return np.array([content, content * 0.5, -content], dtype=np.float32)


def action_of(content: int) -> np.ndarray:
    return np.array([content + 0.25, 1.0], dtype=np.float32)


#: Features lerobot writes (beside the camera) and the value of each for a content id.
VALUES: dict[str, tuple[dict[str, Any], Callable[[int], Any]]] = {
    "observation.state": ({"dtype": "float32", "shape": [3], "names": ["j0", "j1", "j2"]}, state_of),
    "action": ({"dtype": "float32", "shape": [2], "names": ["j0", "j1"]}, action_of),
    "observation.contact": ({"dtype": "bool", "shape": [1], "names": None}, lambda c: c % 3 == 0),
    "observation.step": ({"dtype": "int64", "shape": [1], "names": None}, lambda c: c * 7),
    "observation.mode": ({"dtype": "string", "shape": [1], "names": None}, lambda c: f"mode-{c % 2}"),
}
#: The features a roboflow shard can have too (float32 vectors and a video camera).
PLAIN = ("observation.state", "action")


@dataclass(frozen=True)
class Written:
    """A dataset and, per row, the content id and the task written there."""

    root: Path
    ids: tuple[int, ...]
    tasks: tuple[str, ...]
    lengths: tuple[int, ...]
    keys: tuple[str, ...]


def job(
    directory: Path, name: str, *, camera: str, first_id: int, keys: Sequence[str]
) -> tuple[Path, Written]:
    """A job file for ``lerobot_write.py`` and what it will have written."""
    count = sum(len(episode) for episode in TASKS)
    ids = range(first_id, first_id + count)
    features = {key: VALUES[key][0] for key in keys[:2]}
    features[CAMERA] = {"dtype": camera, "shape": [48, 64, 3], "names": ["height", "width", "channels"]}
    features.update({key: VALUES[key][0] for key in keys[2:]})
    numeric = {key: np.array([VALUES[key][1](c) for c in ids]) for key in keys if key != "observation.mode"}
    for key in ("observation.contact", "observation.step"):
        if key in numeric:
            numeric[key] = numeric[key][:, None]
    numeric[CAMERA] = np.stack([render_frame(c, 64, 48, camera=0) for c in ids])
    arrays = directory / f"{name}.npz"
    np.savez(arrays, **numeric)
    strings = (
        {"observation.mode": [VALUES["observation.mode"][1](c) for c in ids]}
        if "observation.mode" in keys
        else {}
    )
    spec = {
        "root": str(directory / name), "fps": FPS, "robot_type": "testbot", "features": features,
        "tasks": [list(episode) for episode in TASKS], "strings": strings, "arrays": str(arrays),
        "vcodec": LEROBOT04_CODEC,
    }  # fmt: skip
    path = directory / f"{name}.json"
    path.write_text(json.dumps(spec))
    tasks = tuple(task for episode in TASKS for task in episode)
    return path, Written(directory / name, tuple(ids), tasks, tuple(len(e) for e in TASKS), (*keys, CAMERA))


ALL_KEYS = tuple(VALUES)
#: Name -> (camera dtype, first content id, features) of the datasets each lerobot writes.
DATASETS = {
    "video": ("video", 0, ALL_KEYS),
    "image": ("image", 100, ALL_KEYS),
    "plain": ("video", 200, PLAIN),
}


def write_with_lerobot(python: Path, directory: Path, first_id: int) -> dict[str, Written]:
    directory.mkdir(parents=True)
    jobs = {
        name: job(directory, name, camera=camera, first_id=first_id + offset, keys=keys)
        for name, (camera, offset, keys) in DATASETS.items()
    }
    done = subprocess.run(
        [str(python), str(WRITER), *(str(path) for path, _ in jobs.values())],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"lerobot_write.py failed:\n{done.stderr[-3000:]}"
    return {name: written for name, (_, written) in jobs.items()}


def roboflow_shard(directory: Path, first_id: int, video: VideoSettings) -> Written:
    """A shard of roboflow's writer with the features of the "plain" datasets, encoded with ``video``."""
    spec = DatasetSpec(
        fps=FPS,
        robot_type="testbot",
        vectors=(
            VectorFeature("observation.state", ("j0", "j1", "j2")),
            VectorFeature("action", ("j0", "j1")),
        ),
        cameras=(CameraFeature(CAMERA, 48, 64),),
    )
    episode = ("wave",) * 12
    ids = tuple(range(first_id, first_id + len(episode)))
    with DatasetWriter(directory, spec, format="v3.0", video=video) as writer:
        for content, task in zip(ids, episode, strict=True):
            image = render_frame(content, 64, 48, camera=0)
            writer.add_frame(
                {"observation.state": state_of(content), "action": action_of(content), CAMERA: image}, task
            )
        writer.save_episode()
    return Written(directory, ids, episode, (len(episode),), (*PLAIN, CAMERA))


def merged(out: Path, parts: Sequence[Written], *, format: str, images_to_video: bool = False) -> Written:
    merge_datasets(
        [str(part.root) for part in parts],
        str(out),
        format=format,
        images_to_video=VideoSettings(codec="libx264", crf=10, preset="ultrafast")
        if images_to_video
        else None,
    )
    return Written(
        out,
        tuple(i for p in parts for i in p.ids),
        tuple(t for p in parts for t in p.tasks),
        tuple(n for p in parts for n in p.lengths),
        parts[0].keys,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Written]]:
    """Per output version: the datasets lerobot wrote in it and what merge made of them."""
    v30_python, v21_python = lerobot_python(PYTHON_V30), lerobot_python(PYTHON_V21)
    base = tmp_path_factory.mktemp("lerobot-written")
    new = write_with_lerobot(v30_python, base / "lerobot04", 0)
    old = write_with_lerobot(v21_python, base / "lerobot03", 1000)
    ours = {
        version: roboflow_shard(base / f"roboflow-{version}", 2000, video)
        for version, video in SHARD_VIDEO.items()
    }
    out = base / "merged"
    return {
        "v3.0": {
            "written-video": new["video"],
            "written-image": new["image"],
            "merged-video": merged(out / "v30-video", [new["video"]], format="v3.0"),
            "merged-image": merged(out / "v30-image", [new["image"]], format="v3.0"),
            "merged-images-to-video": merged(
                out / "v30-itv", [new["image"]], format="v3.0", images_to_video=True
            ),
            "converted-from-v21-video": merged(out / "v21-to-v30-video", [old["video"]], format="v3.0"),
            "converted-from-v21-image": merged(out / "v21-to-v30-image", [old["image"]], format="v3.0"),
            "with-roboflow-shard": merged(out / "v30-roboflow", [new["plain"], ours["v3.0"]], format="v3.0"),
            "across-versions": merged(out / "v30-across", [old["image"], new["image"]], format="v3.0"),
        },
        "v2.1": {
            "written-video": old["video"],
            "written-image": old["image"],
            "merged-image": merged(out / "v21-image", [old["image"]], format="v2.1"),
            "merged-images-to-video": merged(
                out / "v21-itv", [old["image"]], format="v2.1", images_to_video=True
            ),
            "converted-from-v30-video": merged(out / "v30-to-v21-video", [new["video"]], format="v2.1"),
            "converted-from-v30-image": merged(out / "v30-to-v21-image", [new["image"]], format="v2.1"),
            "with-roboflow-shard": merged(out / "v21-roboflow", [old["plain"], ours["v2.1"]], format="v2.1"),
            "across-versions": merged(out / "v21-across", [new["image"], old["image"]], format="v2.1"),
        },
    }


@pytest.fixture(scope="module")
def reports(
    outputs: dict[str, dict[str, Written]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Every output loaded in the lerobot of its version, one checker run per version."""
    found: dict[str, Any] = {}
    for version, variable in (("v3.0", PYTHON_V30), ("v2.1", PYTHON_V21)):
        cases = outputs[version]
        dumps = tmp_path_factory.mktemp(f"dumps-{version}")
        loaded = load_in_lerobot(lerobot_python(variable), [w.root for w in cases.values()], dumps)
        found.update({f"{version}/{name}": report for name, report in zip(cases, loaded, strict=True)})
    return found


CASES = [
    (version, name)
    for version, names in {
        "v3.0": ("written-video", "written-image", "merged-video", "merged-image", "merged-images-to-video",
                 "converted-from-v21-video", "converted-from-v21-image", "with-roboflow-shard", "across-versions"),
        "v2.1": ("written-video", "written-image", "merged-image", "merged-images-to-video",
                 "converted-from-v30-video", "converted-from-v30-image", "with-roboflow-shard", "across-versions"),
    }.items()
    for name in names
]  # fmt: skip


@pytest.mark.parametrize(("version", "name"), CASES)
def test_valid_and_loads_with_every_value(
    outputs: dict[str, dict[str, Written]], reports: dict[str, Any], version: str, name: str
) -> None:
    written = outputs[version][name]
    assert validate_dataset(written.root) == []
    report = accepted(reports[f"{version}/{name}"])
    assert report["codebase_version"] == version
    assert report["total_frames"] == len(written.ids)
    assert [episode["length"] for episode in report["episodes"]] == list(written.lengths)
    assert [sample["task"] for sample in report["samples"]] == list(written.tasks)
    itv = name.endswith("images-to-video")
    assert report["features"][CAMERA]["dtype"] == ("video" if itv else json.loads(
        (written.root / "meta" / "info.json").read_text())["features"][CAMERA]["dtype"])  # fmt: skip
    with np.load(report["dump"]) as arrays:
        for row, content in enumerate(written.ids):
            for key in written.keys:
                got = arrays[f"{row}|{key}"]
                if key == CAMERA:
                    pattern = decode_pattern(got)
                    assert (pattern.frame, pattern.camera) == (content, 0), f"row {row}"
                elif key == "observation.mode":
                    assert str(got) == VALUES[key][1](content)
                else:
                    want = np.asarray(VALUES[key][1](content))
                    np.testing.assert_array_equal(got, want.astype(got.dtype), strict=False)
                    assert got.shape == (want.shape if want.ndim else ())
