"""merge_datasets and `roboflow merge`: shards of both versions, different lengths and tasks, read back."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import boto3
import pyarrow as pa
import pytest
from moto.server import ThreadedMotoServer

from roboflow.cli import main
from roboflow.errors import DatasetError, StorageError
from roboflow.lerobot.assemble import FileLimits
from roboflow.lerobot.merge import LocalIO, StorageIO, merge_datasets
from roboflow.lerobot.spec import DatasetSpec, VectorFeature
from roboflow.lerobot.validate import validate_dataset
from roboflow.media.settings import VideoSettings
from roboflow.storage import Credentials, StorageOptions, download_tree, upload_tree


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> dict[str, Any]:
    """Four shards: two one-episode v3.0 (with provenance), a two-episode v2.1, a two-episode v3.0."""
    root = tmp_path_factory.mktemp("shards")
    plans = {
        "a": ([kit.episode(0, ["pick"] * 4)], "v3.0", {"source": "a.mcap", "sha256": "aa"}),
        "b": ([kit.episode(100, ["place"] * 2 + ["pick"] * 5)], "v3.0", {"source": "b.bag"}),
        "c": ([kit.episode(200, ["wave"] * 3), kit.episode(300, ["pick", "stack"] * 3)], "v2.1", None),
        "d": ([kit.episode(400, ["stack"] * 6), kit.episode(500, ["place"] * 2)], "v3.0", None),
    }
    paths = {
        name: kit.write(root / name, episodes, format=fmt, provenance=provenance)
        for name, (episodes, fmt, provenance) in plans.items()
    }
    episodes = [item for name in "abcd" for item in plans[name][0]]
    return {"paths": [str(paths[name]) for name in "abcd"], "episodes": episodes, "root": root}


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_merge_renumbers_and_keeps_every_value(
    shards: dict[str, Any], tmp_path: Path, kit: Any, format: str
) -> None:
    result = merge_datasets(shards["paths"], str(tmp_path / "out"), format=format)
    loaded = kit.check(tmp_path / "out", shards["episodes"], format=format)
    assert loaded.tasks == ["pick", "place", "wave", "stack"]
    assert result.shard_episodes == (0, 1, 2, 4)
    assert result.info["total_episodes"] == 6 and result.info["total_frames"] == 28
    assert validate_dataset(tmp_path / "out") == []


def test_merge_is_deterministic(shards: dict[str, Any], tmp_path: Path) -> None:
    limits = FileLimits(data_files_size_in_mb=0.004, video_files_size_in_mb=0.004)
    for name in ("one", "two"):
        merge_datasets(shards["paths"], str(tmp_path / name), limits=limits, provenance={"batch": "b1"})
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert len(files) > 7
    for relpath in files:
        assert (tmp_path / "one" / relpath).read_bytes() == (tmp_path / "two" / relpath).read_bytes(), relpath
    assert files == sorted(
        p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file()
    )


def test_merge_rolls_over_and_slices_multi_episode_files(
    shards: dict[str, Any], tmp_path: Path, kit: Any
) -> None:
    once = tmp_path / "once"
    merge_datasets(shards["paths"], str(once))  # every shard's episodes share one file per camera
    twice = tmp_path / "twice"
    limits = FileLimits(chunks_size=2, data_files_size_in_mb=1e-6, video_files_size_in_mb=1e-6)
    merge_datasets([str(once)], str(twice), limits=limits)
    loaded = kit.check(twice, shards["episodes"], format="v3.0")
    places = [(e["data/chunk_index"], e["data/file_index"]) for e in loaded.episodes]
    assert places == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    for key in (kit.front, kit.wrist):
        assert [
            (e[f"videos/{key}/chunk_index"], e[f"videos/{key}/file_index"]) for e in loaded.episodes
        ] == places
        assert all(e[f"videos/{key}/from_timestamp"] == 0.0 for e in loaded.episodes)
    assert validate_dataset(twice) == []


def test_provenance_of_shards_is_collected(shards: dict[str, Any], tmp_path: Path) -> None:
    merge_datasets(shards["paths"], str(tmp_path / "out"), provenance={"batch": "b1", "config_sha256": "cc"})
    assert json.loads((tmp_path / "out/meta/roboflow.json").read_text()) == {
        "batch": "b1",
        "config_sha256": "cc",
        "episodes": [
            {"source": "a.mcap", "sha256": "aa", "episode_index": 0},
            {"source": "b.bag", "episode_index": 1},
            {"episode_index": 2, "num_episodes": 2},
            {"episode_index": 4, "num_episodes": 2},
        ],
    }
    merge_datasets(shards["paths"][2:], str(tmp_path / "plain"))
    assert not (tmp_path / "plain/meta/roboflow.json").exists()


def test_shards_with_other_encoder_settings_get_their_own_video_file(
    shards: dict[str, Any], tmp_path: Path, kit: Any
) -> None:
    # x264 "medium" uses B-frames and other parameter sets than "ultrafast": the joiner starts a new file
    other = [kit.episode(600, ["pick"] * 9)]
    medium = VideoSettings(codec="libx264", preset="medium", crf=20, gop=4)
    kit.write(tmp_path / "medium", other, video=medium)
    with av.open(
        str(tmp_path / "medium/videos/observation.images.front/chunk-000/file-000.mp4")
    ) as container:
        assert container.streams.video[0].codec_context.has_b_frames
    paths = [shards["paths"][0], str(tmp_path / "medium"), shards["paths"][1]]
    merge_datasets(paths, str(tmp_path / "out"))
    expected = [shards["episodes"][0], other[0], shards["episodes"][1]]
    loaded = kit.check(tmp_path / "out", expected, format="v3.0")
    assert [e[f"videos/{kit.front}/file_index"] for e in loaded.episodes] == [0, 1, 2]
    assert [e["data/file_index"] for e in loaded.episodes] == [0, 0, 0]
    assert validate_dataset(tmp_path / "out") == []


def test_av1_lerobots_codec(tmp_path: Path, kit: Any) -> None:
    first = [kit.episode(0, ["a"] * 6), kit.episode(20, ["b"] * 3)]
    second = [kit.episode(40, ["a"] * 5)]
    av1 = VideoSettings(codec="libsvtav1", preset="12", crf=16)  # lerobot's but crf (30 blurs 64x48 patterns)
    paths = [
        str(kit.write(tmp_path / "s1", first, video=av1)),
        str(kit.write(tmp_path / "s2", second, video=av1, format="v2.1")),
    ]
    merge_datasets(paths, str(tmp_path / "out"))
    kit.check(tmp_path / "out", first + second, format="v3.0", codec="av1")
    assert validate_dataset(tmp_path / "out") == []


def test_mismatched_shards_are_named(shards: dict[str, Any], tmp_path: Path, kit: Any) -> None:
    first = shards["paths"][0]
    other_fps = DatasetSpec(fps=15, robot_type="testbot", vectors=kit.spec.vectors, cameras=kit.spec.cameras)
    other_names = DatasetSpec(
        fps=10,
        robot_type="testbot",
        vectors=(VectorFeature("observation.state", ("x", "y", "z")), kit.spec.vectors[1]),
        cameras=kit.spec.cameras,
    )
    other_robot = DatasetSpec(
        fps=10, robot_type="otherbot", vectors=kit.spec.vectors, cameras=kit.spec.cameras
    )
    cases = [
        (other_fps, "has fps 15, the first shard has 10"),
        (
            other_names,
            (
                "has other features than the first shard: feature 'observation.state' has names "
                r"\['x', 'y', 'z'\], the first shard \['j0', 'j1', 'j2'\]"
            ),
        ),
        (other_robot, "has robot_type 'otherbot', the first shard has 'testbot'"),
    ]
    for number, (spec, message) in enumerate(cases):
        shard = kit.write(tmp_path / f"bad{number}", [kit.episode(0, ["pick"] * 2)], spec=spec)
        with pytest.raises(DatasetError, match=message) as error:
            merge_datasets([first, str(shard)], str(tmp_path / f"out{number}"))
        assert error.value.path == str(shard)
        assert validate_dataset(tmp_path / f"out{number}")[0].path == "meta/info.json"


def test_invalid_or_missing_shards(shards: dict[str, Any], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(DatasetError, match="is not a valid dataset: meta/info.json: missing") as error:
        merge_datasets([shards["paths"][0], str(broken)], str(tmp_path / "out"))
    assert error.value.path == str(broken)
    with pytest.raises(StorageError, match="no such file or directory"):
        merge_datasets([str(tmp_path / "nowhere")], str(tmp_path / "out2"))
    with pytest.raises(DatasetError, match="shard not found"):
        merge_datasets([str(tmp_path / "nowhere")], str(tmp_path / "out2"), io=LocalIO())
    with pytest.raises(DatasetError, match="no shards to merge"):
        merge_datasets([], str(tmp_path / "out3"))
    with pytest.raises(DatasetError, match="exists already"):
        merge_datasets(shards["paths"][:1], shards["paths"][1])


def test_merge_without_cameras(tmp_path: Path, kit: Any) -> None:
    spec = DatasetSpec(fps=10, robot_type=None, vectors=kit.spec.vectors)
    one = [kit.episode(0, ["a"] * 3)]
    two = [kit.episode(10, ["b"] * 2)]
    paths = [
        str(kit.write(tmp_path / "s1", one, spec=spec)),
        str(kit.write(tmp_path / "s2", two, spec=spec, format="v2.1")),
    ]
    merge_datasets(paths, str(tmp_path / "out"))
    kit.check(tmp_path / "out", one + two, format="v3.0", spec=spec)
    assert validate_dataset(tmp_path / "out") == []


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_merge_keeps_one_element_vectors_scalar(tmp_path: Path, kit: Any, format: str) -> None:
    """Shards of both versions with a float32 gripper column; the v2.1 one has its stats recomputed (no
    quantiles) when the output is v3.0."""
    spec = kit.gripper_spec
    one = [kit.episode(0, ["a"] * 3), kit.episode(20, ["b"] * 4)]
    two = [kit.episode(10, ["b"] * 2)]
    paths = [
        str(kit.write(tmp_path / "s1", one, spec=spec)),
        str(kit.write(tmp_path / "s2", two, spec=spec, format="v2.1")),
    ]
    merge_datasets(paths, str(tmp_path / "out"), format=format)
    loaded = kit.check(tmp_path / "out", one + two, format=format, spec=spec)
    assert all(schema.field("observation.gripper").type == pa.float32() for schema in loaded.schemas)
    assert loaded.rows["observation.gripper"].tolist() == [c / 8 + 0.125 for e in one + two for c in e.ids]
    assert validate_dataset(tmp_path / "out") == []


def test_cli_merge(shards: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    main(
        ["merge", *shards["paths"][:2], "-o", str(out), "--format", "v2.1", "--provenance", '{"batch": "x"}']
    )
    assert (
        capsys.readouterr().out.strip()
        == f"{out}: v2.1 dataset, 2 episodes, 11 frames, 2 tasks from 2 shards"
    )
    assert validate_dataset(out) == []
    assert json.loads((out / "meta/roboflow.json").read_text())["batch"] == "x"
    with pytest.raises(SystemExit) as exit_info:
        main(["merge", shards["paths"][0], "-o", str(out)])
    assert exit_info.value.code == 2
    assert "roboflow: error: " in capsys.readouterr().err
    main(["merge", shards["paths"][0], "-o", str(out), "--overwrite"])
    assert json.loads((out / "meta/info.json").read_text())["codebase_version"] == "v3.0"


@pytest.fixture(scope="module")
def s3() -> Iterator[StorageOptions]:
    """A bucket ``merge`` on a local S3 server (moto), and the options to reach it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    keys = Credentials("testing", "testing")
    options = StorageOptions(
        endpoint=f"http://{host}:{port}", region="us-east-1", credentials=keys, retries=0
    )
    client = boto3.client(
        "s3",
        endpoint_url=options.endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
    )
    client.create_bucket(Bucket="merge")
    yield options
    server.stop()


def test_merge_remote_shards_into_a_remote_dataset(
    shards: dict[str, Any], tmp_path: Path, kit: Any, s3: StorageOptions
) -> None:
    remote = []
    for number, path in enumerate(shards["paths"][:3]):
        upload_tree(path, f"s3://merge/staging/shard-{number}", options=s3)
        remote.append(f"s3://merge/staging/shard-{number}")
    io = StorageIO(s3)
    merge_datasets(remote, "s3://merge/datasets/run1", io=io, format="v3.0")
    download_tree("s3://merge/datasets/run1", tmp_path / "run1", options=s3)
    kit.check(tmp_path / "run1", shards["episodes"][:4], format="v3.0")
    assert validate_dataset(tmp_path / "run1") == []
    with pytest.raises(DatasetError, match="exists already, not overwriting"):
        merge_datasets(remote[:1], "s3://merge/datasets/run1", io=io)
    merge_datasets(remote[:1], "s3://merge/datasets/run1", io=io, overwrite=True, format="v2.1")
    download_tree("s3://merge/datasets/run1", tmp_path / "again", options=s3)
    kit.check(tmp_path / "again", shards["episodes"][:1], format="v2.1")
    assert sorted(p.name for p in (tmp_path / "again/meta").iterdir()) == [
        "episodes.jsonl",
        "episodes_stats.jsonl",
        "info.json",
        "roboflow.json",
        "tasks.jsonl",
    ]
