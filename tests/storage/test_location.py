"""Storage URLs and the scheme registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from roboflow.errors import StorageError
from roboflow.storage import open_storage, parse_url, split_url
from roboflow.storage.location import Location


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/a/b.mcap", Location("s3", "bucket", "a/b.mcap")),
        ("s3://bucket", Location("s3", "bucket", "")),
        ("s3://bucket/prefix/", Location("s3", "bucket", "prefix")),
        ("OSS://bucket/x", Location("oss", "bucket", "x")),
        ("file:///data/rec.bag", Location("file", "", "/data/rec.bag")),
        ("file://localhost/data/x/../rec.bag", Location("file", "", "/data/rec.bag")),
        ("/data/out/", Location("file", "", "/data/out")),
    ],
)
def test_parse(url: str, expected: Location) -> None:
    assert parse_url(url) == expected


def test_relative_and_home_paths_are_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert parse_url("out/ds").path == str(tmp_path / "out" / "ds")
    assert parse_url("~/ds").path == str(tmp_path / "home" / "ds")


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(
        StorageError, match=r"gs://b/x: unknown storage scheme 'gs' \(use one of: file, oss, s3\)"
    ):
        open_storage("gs://b/x")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3:///key", "no bucket in URL"),
        ("s3://AKIA:secret@bucket/key", "take no query, fragment or user part"),
        ("oss://bucket/key?endpoint=x", "take no query"),
        ("file://host/path", "file URLs name no host"),
    ],
)
def test_malformed_urls(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message) as error:
        parse_url(url)
    assert "secret" not in str(error.value)


def test_location_navigation() -> None:
    location = parse_url("s3://bucket/a/b/c.mcap")
    assert (location.name, location.parent.url, location.parent.parent.parent.url) == (
        "c.mcap", "s3://bucket/a/b", "s3://bucket"
    )  # fmt: skip
    assert parse_url("/x/y").parent.url == "/x"


def test_split_url(tmp_path: Path) -> None:
    storage, key = split_url(str(tmp_path / "dir" / "rec.mcap"))
    assert (storage.url, key) == (str(tmp_path / "dir"), "rec.mcap")
    with pytest.raises(StorageError, match="URL names no object"):
        split_url("s3://bucket")


def test_local_backend_does_not_import_cloud_sdks(tmp_path: Path) -> None:
    code = (
        "import sys; from roboflow.storage import open_storage; "
        f"open_storage({str(tmp_path)!r}); "
        "assert 'boto3' not in sys.modules and 'oss2' not in sys.modules, 'eager import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
