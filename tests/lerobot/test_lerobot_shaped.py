"""validate and merge on datasets shaped exactly like lerobot's own output (``lerobot_shaped.py``): accepted,
merged alone, across versions and with a roboflow shard, image features kept or encoded into videos; every
value read back with pyarrow and PyAV. tests/compat runs the same on datasets the real lerobot wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from roboflow.errors import DatasetError
from roboflow.lerobot.dataset import DatasetWriter
from roboflow.lerobot.merge import merge_datasets
from roboflow.lerobot.spec import CameraFeature, DatasetSpec, VectorFeature
from roboflow.lerobot.stats import image_stats, pixel_stride, sample_indices
from roboflow.lerobot.validate import validate_dataset
from roboflow.media.settings import VideoSettings
from roboflow.synth.truth import decode_pattern, render_frame

from .lerobot_shaped import CAMERA, TASKS, VALUES, write_lerobot_dataset

X264 = VideoSettings(codec="libx264", preset="ultrafast", crf=18)
VERSIONS = ("v3.0", "v2.1")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[int]]]:
    """``<version>-<camera>`` -> (root, content id per row), lerobot-shaped."""
    base = tmp_path_factory.mktemp("lerobot-shaped")
    found = {}
    for offset, version in enumerate(VERSIONS):
        for camera in ("video", "image"):
            root = base / f"{version}-{camera}"
            found[f"{version}-{camera}"] = (
                root,
                write_lerobot_dataset(root, version=version, camera=camera, first_id=1000 * offset),
            )
    return found


def rows(root: Path) -> dict[str, list[Any]]:
    return pq.read_table(root / "data").to_pydict()


def check_values(root: Path, ids: list[int]) -> None:
    """Every row holds the values of its content id; the camera (image or video) shows its frame."""
    info = json.loads((root / "meta/info.json").read_text())
    table = rows(root)
    assert len(table["index"]) == len(ids)
    for key, (_, value_of) in VALUES.items():
        if key in info["features"]:
            want = [np.asarray(value_of(c)).tolist() for c in ids]
            assert table[key] == want, key
    camera = info["features"][CAMERA]
    if camera["dtype"] == "image":
        for row, content in enumerate(ids):
            picture = av.CodecContext.create("png", "r").decode(av.Packet(table[CAMERA][row]["bytes"]))[0]
            assert decode_pattern(picture.to_ndarray(format="rgb24")).frame == content
        return
    decoded = []
    for path in sorted((root / "videos").rglob("*.mp4")):
        with av.open(str(path)) as container:
            decoded += [
                decode_pattern(frame.to_ndarray(format="rgb24")).frame for frame in container.decode(video=0)
            ]
    assert decoded == ids


@pytest.mark.parametrize("name", ["v3.0-video", "v3.0-image", "v2.1-video", "v2.1-image"])
def test_validate_accepts_what_lerobot_writes(written: dict[str, Any], name: str) -> None:
    assert validate_dataset(written[name][0]) == []


@pytest.mark.parametrize("out", VERSIONS)
@pytest.mark.parametrize("name", ["v3.0-video", "v3.0-image", "v2.1-video", "v2.1-image"])
def test_merge_alone_converts_between_versions(
    written: dict[str, Any], tmp_path: Path, name: str, out: str
) -> None:
    root, ids = written[name]
    merge_datasets([str(root)], str(tmp_path / "out"), format=out)
    assert validate_dataset(tmp_path / "out") == []
    check_values(tmp_path / "out", ids)
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["codebase_version"] == out
    assert info["features"] == json.loads((root / "meta/info.json").read_text())["features"]


def test_image_stats_are_lerobots_from_the_pictures(written: dict[str, Any], tmp_path: Path) -> None:
    """A v2.1 image dataset (no quantiles) merged into v3.0: its image stats are recomputed from the sampled
    pictures as lerobot does (this crashed merge before), and an int feature keeps integer min/max."""
    root, ids = written["v2.1-image"]
    merge_datasets([str(root)], str(tmp_path / "out"))
    episodes = pq.read_table(tmp_path / "out/meta/episodes").to_pylist()
    stride = pixel_stride(48, 64)
    first = ids[: len(TASKS[0])]
    frames = np.stack(
        [render_frame(first[i], 64, 48, camera=0)[::stride, ::stride] for i in sample_indices(len(first))]
    )
    want = image_stats(frames)
    for stat in ("min", "max", "mean", "std", "q01", "q50", "q99"):
        np.testing.assert_allclose(np.asarray(episodes[0][f"stats/{CAMERA}/{stat}"]), want[stat], atol=1e-12)
    assert episodes[0][f"stats/{CAMERA}/count"] == [len(sample_indices(len(first)))]
    assert episodes[0]["stats/observation.step/max"] == [first[-1] * 7]


@pytest.mark.parametrize("out", VERSIONS)
def test_images_to_video(written: dict[str, Any], tmp_path: Path, out: str) -> None:
    root, ids = written["v3.0-image"]
    merge_datasets([str(root)], str(tmp_path / "out"), format=out, images_to_video=X264)
    assert validate_dataset(tmp_path / "out") == []
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["features"][CAMERA]["dtype"] == "video"
    assert info["features"][CAMERA]["info"]["video.codec"] == "h264"
    assert CAMERA not in pq.read_schema(next((tmp_path / "out/data").rglob("*.parquet"))).names
    check_values(tmp_path / "out", ids)


@pytest.mark.parametrize("out", VERSIONS)
def test_across_versions(written: dict[str, Any], tmp_path: Path, out: str) -> None:
    (new, new_ids), (old, old_ids) = written["v3.0-image"], written["v2.1-image"]
    merge_datasets([str(old), str(new)], str(tmp_path / "out"), format=out)
    assert validate_dataset(tmp_path / "out") == []
    check_values(tmp_path / "out", old_ids + new_ids)
    if out == "v2.1":  # lerobot 0.3 reads pictures only where the parquet metadata says Image
        metadata = json.loads(
            pq.read_schema(tmp_path / "out/data/chunk-000/episode_000003.parquet").metadata[b"huggingface"]
        )
        assert metadata["info"]["features"][CAMERA] == {"_type": "Image"}
        assert metadata["info"]["features"]["observation.state"]["_type"] == "Sequence"


def roboflow_shard(root: Path, first_id: int) -> list[int]:
    spec = DatasetSpec(
        fps=10,
        robot_type="testbot",
        vectors=(
            VectorFeature("observation.state", ("j0", "j1", "j2")),
            VectorFeature("action", ("j0", "j1")),
        ),
        cameras=(CameraFeature(CAMERA, 48, 64),),
    )
    ids = list(range(first_id, first_id + 7))
    with DatasetWriter(root, spec, format="v3.0", video=X264) as writer:
        for c in ids:
            frame = {key: VALUES[key][1](c) for key in ("observation.state", "action")}
            writer.add_frame({**frame, CAMERA: render_frame(c, 64, 48, camera=0)}, "wave")
        writer.save_episode()
    return ids


@pytest.mark.parametrize("out", VERSIONS)
def test_with_a_roboflow_shard(tmp_path: Path, out: str) -> None:
    lerobot_ids = write_lerobot_dataset(tmp_path / "lerobot", version="v2.1", camera="video", extra=False)
    ours = roboflow_shard(tmp_path / "roboflow", 500)
    merge_datasets([str(tmp_path / "lerobot"), str(tmp_path / "roboflow")], str(tmp_path / "out"), format=out)
    assert validate_dataset(tmp_path / "out") == []
    check_values(tmp_path / "out", lerobot_ids + ours)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (None, "feature 'observation.contact' is missing"),
        (
            lambda f: f["observation.state"].update(names=["a", "b", "c"]),
            r"feature 'observation.state' has names \['a', 'b', 'c'\], the first shard \['j0', 'j1', 'j2'\]",
        ),
        (
            lambda f: f.update({"observation.state": f.pop("observation.state")}),
            "features are in another order: 'action' where the first shard has 'observation.state'",
        ),
    ],
    ids=["missing", "names", "order"],
)
def test_the_first_difference_is_named(
    written: dict[str, Any], tmp_path: Path, edit: Any, message: str
) -> None:
    first = written["v3.0-image"][0]
    second = tmp_path / "second"
    write_lerobot_dataset(second, version="v3.0", camera="image", extra=edit is not None)
    if edit is not None:
        info = json.loads((second / "meta/info.json").read_text())
        edit(info["features"])
        (second / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=message) as error:
        merge_datasets([str(first), str(second)], str(tmp_path / "out"))
    assert error.value.path == str(second)


def test_codec_difference_says_how_to_fix(written: dict[str, Any], tmp_path: Path) -> None:
    first = written["v3.0-video"][0]
    second = tmp_path / "second"
    write_lerobot_dataset(second, version="v3.0", camera="video")
    info = json.loads((second / "meta/info.json").read_text())
    info["features"][CAMERA]["info"]["video.codec"] = "av1"
    (second / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(
        DatasetError, match=r"video.codec 'av1', the first shard 'h264' \(convert with the codec"
    ):
        merge_datasets([str(first), str(second)], str(tmp_path / "out"))


def test_validate_still_rejects_what_lerobot_cannot_load(written: dict[str, Any], tmp_path: Path) -> None:
    """Stats lerobot cannot aggregate (a text min, a float count) and a picture column of another type."""
    import shutil

    import pyarrow as pa

    root = tmp_path / "bad"
    shutil.copytree(written["v3.0-image"][0], root)
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    for name, values in (
        ("stats/observation.step/min", pa.array([["a"], ["b"]])),
        ("stats/action/count", pa.array([[40.0], [40.0]])),
    ):
        table = table.set_column(table.schema.get_field_index(name), name, values)
    pq.write_table(table, path)
    data = root / "data/chunk-000/file-000.parquet"
    rows_table = pq.read_table(data)
    index = rows_table.schema.get_field_index(CAMERA)
    pq.write_table(rows_table.set_column(index, CAMERA, pa.array([b"x"] * rows_table.num_rows)), data)
    problems = [str(p) for p in validate_dataset(root)]
    assert any("'stats/observation.step/min' has type list<element: string>" in p for p in problems), problems
    assert any("'stats/action/count' has type list<element: double>" in p for p in problems), problems
    assert any(f"column '{CAMERA}' has type binary" in p for p in problems), problems


def test_a_damaged_picture_is_one_error_naming_episode_and_frame(
    written: dict[str, Any], tmp_path: Path
) -> None:
    import shutil

    import pyarrow as pa

    root = tmp_path / "damaged"
    shutil.copytree(written["v2.1-image"][0], root)
    data = root / "data/chunk-000/episode_000001.parquet"
    table = pq.read_table(data)
    cells = table.column(CAMERA).to_pylist()
    cells[5] = {"bytes": b"\x89PNG\r\n\x1a\n-damaged", "path": "frame-000005.png"}
    index = table.schema.get_field_index(CAMERA)
    pq.write_table(
        table.set_column(index, CAMERA, pa.array(cells, type=table.schema.field(CAMERA).type)), data
    )
    with pytest.raises(
        DatasetError, match=rf"episode 1: {CAMERA} frame 5: unreadable picture \(.*corrupt PNG"
    ):
        merge_datasets([str(root)], str(tmp_path / "out"), format="v3.0")


def test_huggingface_metadata_names_every_column_as_lerobot_does() -> None:
    from roboflow.lerobot.images import hf_schema_metadata

    features = {
        CAMERA: {"dtype": "image", "shape": [48, 64, 3], "names": ["height", "width", "channels"]},
        "observation.images.wrist": {"dtype": "video", "shape": [48, 64, 3], "names": None},
        "observation.state": {"dtype": "float32", "shape": [3], "names": None},
        "observation.mode": {"dtype": "string", "shape": [1], "names": None},
        "observation.grid": {"dtype": "float32", "shape": [2, 4], "names": None},
    }
    described = json.loads(hf_schema_metadata(features)[b"huggingface"])["info"]["features"]
    assert described == {
        CAMERA: {"_type": "Image"},
        "observation.state": {
            "feature": {"dtype": "float32", "_type": "Value"},
            "length": 3,
            "_type": "Sequence",
        },
        "observation.mode": {"dtype": "string", "_type": "Value"},
        "observation.grid": {"shape": [2, 4], "dtype": "float32", "_type": "Array2D"},
    }
