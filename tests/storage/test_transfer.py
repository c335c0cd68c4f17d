"""URL-level helpers: open_seekable, local_copy, download_tree, upload_tree."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from roboflow.errors import StorageError
from roboflow.storage import download_tree, local_copy, open_seekable, upload_tree

from .conftest import oss_options, s3_options
from .servers.fault_proxy import FaultProxy
from .servers.oss_server import OssServer

ProxyFor = Callable[[str], FaultProxy]


def test_open_seekable_local(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"0123456789")
    with open_seekable(str(tmp_path / "a.bin")) as stream:
        stream.seek(-3, 2)
        assert stream.read() == b"789"
    with open_seekable(f"file://{tmp_path}/a.bin") as stream:
        assert stream.read(2) == b"01"


def test_local_copy_of_a_local_path_is_the_path_itself(tmp_path: Path) -> None:
    (tmp_path / "x.db3").write_bytes(b"x")
    with local_copy(str(tmp_path / "x.db3")) as path:
        assert path == tmp_path / "x.db3"
    assert (tmp_path / "x.db3").exists()
    with pytest.raises(StorageError, match="no such file"), local_copy(str(tmp_path / "missing")):
        pass


def test_rosbag2_sqlite_directory_round_trip_through_s3(
    recordings: Path, tmp_path: Path, s3_bucket: str, moto_endpoint: str
) -> None:
    """sqlite needs a real file: the bag directory is uploaded, then fetched as a temporary directory."""
    source = recordings / "rosbag2" / "talker_sqlite3"
    options = s3_options(moto_endpoint)
    results = upload_tree(
        source, f"s3://{s3_bucket}/bags/talker_sqlite3", last=("metadata.yaml",), options=options
    )
    assert [r.key for r in results] == ["talker.db3", "metadata.yaml"]
    with local_copy(f"s3://{s3_bucket}/bags/talker_sqlite3", options) as path:
        assert path.name == "talker_sqlite3" and path.is_dir()
        assert sorted(p.name for p in path.iterdir()) == ["metadata.yaml", "talker.db3"]
        with sqlite3.connect(path / "talker.db3") as db:
            assert db.execute("SELECT COUNT(*) FROM messages").fetchone() == (20,)
        temporary = path
    assert not temporary.exists()  # removed when the block ends
    with local_copy(f"s3://{s3_bucket}/bags/talker_sqlite3/talker.db3", options) as path:
        assert path.name == "talker.db3"
        assert path.read_bytes() == (source / "talker.db3").read_bytes()
    with (
        pytest.raises(StorageError, match="no object or prefix"),
        local_copy(f"s3://{s3_bucket}/bags/x", options),
    ):
        pass


def test_upload_tree_publishes_info_json_last(
    tmp_path: Path, oss_server: OssServer, oss_bucket: str, proxy_for: ProxyFor
) -> None:
    dataset = tmp_path / "ds"
    for relative in ["data/chunk-000/episode_000000.parquet", "data/chunk-000/episode_000001.parquet",
                     "videos/chunk-000/cam/episode_000000.mp4", "meta/tasks.jsonl", "meta/info.json",
                     "meta/episodes.jsonl"]:  # fmt: skip
        (dataset / relative).parent.mkdir(parents=True, exist_ok=True)
        (dataset / relative).write_text(json.dumps({"file": relative}))
    proxy = proxy_for(oss_server.endpoint)
    options = oss_options(proxy.endpoint)
    results = upload_tree(dataset, f"oss://{oss_bucket}/datasets/run1", options=options)
    assert len(results) == 6 and results[-1].key == "meta/info.json"
    assert proxy.requests[-1] == f"PUT /{oss_bucket}/datasets%2Frun1%2Fmeta%2Finfo.json"

    copy = tmp_path / "copy"
    paths = download_tree(f"oss://{oss_bucket}/datasets/run1", copy, options=oss_options(oss_server.endpoint))
    assert len(paths) == 6
    for path in dataset.rglob("*"):
        if path.is_file():
            assert (copy / path.relative_to(dataset)).read_bytes() == path.read_bytes()


def test_upload_tree_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not a directory"):
        upload_tree(tmp_path / "nope", str(tmp_path / "dst"))


def test_download_tree_between_local_directories(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "a" / "b").mkdir(parents=True)
    (source / "a" / "b" / "c.txt").write_text("c")
    (source / "top.txt").write_text("t")
    assert [p.relative_to(tmp_path / "dst").as_posix() for p in download_tree(str(source), tmp_path / "dst")] == [
        "a/b/c.txt", "top.txt"
    ]  # fmt: skip
    shutil.rmtree(source)
    assert (tmp_path / "dst" / "a" / "b" / "c.txt").read_text() == "c"
