"""``publish_tree`` on the S3 (moto) and OSS test servers: a tree replaced through a staged sibling."""

from __future__ import annotations

from pathlib import Path

import pytest

from roboflow.storage import StorageOptions, open_storage
from roboflow.storage.publish import publish_tree, staged_sibling
from storage.servers.fixtures import oss_options, s3_options


@pytest.fixture(params=["s3", "oss"])
def bucket(request: pytest.FixtureRequest) -> tuple[str, StorageOptions]:
    """A fresh bucket URL and its options."""
    if request.param == "s3":
        return f"s3://{request.getfixturevalue('s3_bucket')}", s3_options(request.getfixturevalue("moto_endpoint"))
    server = request.getfixturevalue("oss_server")
    return f"oss://{request.getfixturevalue('oss_bucket')}", oss_options(server.endpoint)


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    return root


def _objects(url: str, options: StorageOptions) -> dict[str, bytes]:
    storage = open_storage(url, options)
    out = {}
    for info in storage.list():
        with storage.reader(info.key) as stream:
            out[info.key] = stream.read()
    return out


@pytest.mark.parametrize("prefix", ["sets/pick", ""])
def test_a_tree_is_replaced_whole_and_nothing_is_left_staged(
        bucket: tuple[str, StorageOptions], tmp_path: Path, prefix: str) -> None:
    root, options = bucket
    url = f"{root}/{prefix}" if prefix else root
    old = {"meta/info.json": b"old", "data/a": b"1", "data/only-old": b"2"}
    new = {"meta/info.json": b"new", "data/a": b"3", "data/only-new": b"4"}
    publish_tree(_tree(tmp_path / "old", old), url, last=("meta/info.json",), options=options)
    assert _objects(url, options) == old
    publish_tree(_tree(tmp_path / "new", new), url, last=("meta/info.json",), options=options)
    assert _objects(url, options) == new
    staging = staged_sibling(url)
    assert (staging is None) == (not prefix)  # a bucket root has no sibling: replaced in place
    if staging is not None:
        assert staging == f"{root}/sets/.pick.new" and _objects(staging, options) == {}
