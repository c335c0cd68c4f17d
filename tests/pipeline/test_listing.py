"""Scanning s3:// and oss:// inputs: prefixes searched recursively, bag directories, globs, sorted by URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from storage.servers.fixtures import oss_options, s3_options

from roboflow.errors import StorageError, UserError
from roboflow.pipeline import scan
from roboflow.storage import StorageOptions, open_storage

KEYS = (
    "recs/b.mcap",
    "recs/sub/a.bag",
    "recs/bag2/metadata.yaml",
    "recs/bag2/bag2_0.db3",
    "recs/split/x_0.mcap",
    "recs/split/x_1.mcap",
    "recs/deep/er/run.rrd",
    "recs/notes.txt",
    "recs-other/c.mcap",
    "z.mcap",
)


@pytest.fixture(params=["s3", "oss"])
def remote(request: pytest.FixtureRequest) -> tuple[str, StorageOptions]:
    """A bucket holding ``KEYS`` (tiny objects): its URL and options."""
    options: Callable[..., StorageOptions]
    if request.param == "s3":
        bucket, endpoint = request.getfixturevalue("s3_bucket"), request.getfixturevalue("moto_endpoint")
        options = s3_options
    else:
        server: Any = request.getfixturevalue("oss_server")
        bucket, endpoint, options = request.getfixturevalue("oss_bucket"), server.endpoint, oss_options
    url = f"{request.param}://{bucket}"
    storage = open_storage(url, options(endpoint))
    for key in KEYS:
        with storage.writer(key) as out:
            out.write(key.encode())
    return url, options(endpoint)


def test_prefixes_objects_and_globs_give_recordings_sorted_by_url(remote: tuple[str, StorageOptions]) -> None:
    base, options = remote

    def urls(*inputs: str) -> list[str]:
        return [item.url.removeprefix(base + "/") for item in scan(inputs, options)]

    tree = ["recs/b.mcap", "recs/bag2", "recs/deep/er/run.rrd", "recs/split", "recs/sub/a.bag"]
    assert urls(f"{base}/recs") == tree
    assert urls(f"{base}/recs/") == tree  # not recs-other/
    assert urls(f"{base}/z.mcap", f"{base}/recs", f"{base}/recs/*.mcap") == [*tree, "z.mcap"]
    assert urls(f"{base}/recs/bag2") == urls(f"{base}/recs/bag2/metadata.yaml") == ["recs/bag2"]
    assert urls(f"{base}/recs/notes.txt") == ["recs/notes.txt"]  # named explicitly: the reader decides
    assert urls(f"{base}/recs/**/*.bag", f"{base}/recs*/c.*") == ["recs-other/c.mcap", "recs/sub/a.bag"]
    everything = sorted([*tree, "recs/notes.txt"])  # a glob's matched objects are recordings, as locally
    assert urls(f"{base}/recs/*") == everything
    assert urls(f"{base}/recs/**") == everything  # the files of a bag directory found belong to it
    assert urls(f"{base}/*.mcap") == ["z.mcap"]
    items = scan([f"{base}/recs"], options)
    assert [item.index for item in items] == list(range(5)) and items[1].key.startswith("000001-bag2-")


def test_remote_inputs_that_name_nothing_are_user_errors(remote: tuple[str, StorageOptions]) -> None:
    base, options = remote
    with pytest.raises(UserError, match=r"/missing: no recordings at this URL \(no such object, prefix or"):
        scan([f"{base}/missing"], options)
    with pytest.raises(UserError, match="no recordings at this URL"):
        scan([f"{base}/recs/**/*.db4"], options)
    scheme = base.split(":")[0]
    with pytest.raises(StorageError, match="take no query, fragment or user part") as failure:
        scan([f"{scheme}://AKIA:top-secret@bucket/recs"], options)
    assert "top-secret" not in str(failure.value)
