"""One contract, every backend: local files, S3 (moto server) and OSS (the OSS test server), over real HTTP."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from roboflow.errors import StorageError
from roboflow.storage import Storage, copy_object, open_storage

from .conftest import MiB

MakeStorage = Callable[..., Storage]


def payload(size: int, seed: int = 1) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size] if seed == 1 else os.urandom(size)


def test_write_then_read_back(make_storage: MakeStorage) -> None:
    storage = make_storage()
    data = payload(3 * MiB + 17)
    with storage.writer("rec/a.bin") as out:
        out.write(data[:1000])
        out.write(data[1000:])
        assert out.tell() == len(data)
    assert storage.exists("rec/a.bin")
    assert storage.size("rec/a.bin") == len(data)
    with storage.reader("rec/a.bin") as stream:
        assert stream.read() == data


def test_seekable_reader_reads_any_range(make_storage: MakeStorage) -> None:
    storage = make_storage(range_size=256 * 1024)
    data = os.urandom(1 * MiB + 123)
    with storage.writer("x.bin") as out:
        out.write(data)
    with storage.seekable_reader("x.bin") as stream:
        assert stream.seekable()
        assert stream.seek(-37, io.SEEK_END) == len(data) - 37
        assert stream.read() == data[-37:]
        stream.seek(250_000)
        assert stream.read(20_000) == data[250_000:270_000]  # crosses a range boundary
        buffer = bytearray(5000)
        stream.seek(10)
        assert stream.readinto(buffer) == 5000 and bytes(buffer) == data[10:5010]
        stream.seek(len(data) + 10)
        assert stream.read(10) == b""


def test_empty_object(make_storage: MakeStorage) -> None:
    storage = make_storage()
    with storage.writer("empty"):
        pass
    assert storage.size("empty") == 0
    with storage.seekable_reader("empty") as stream:
        assert stream.read() == b""


def test_aborted_write_leaves_nothing(make_storage: MakeStorage) -> None:
    storage = make_storage()
    with pytest.raises(RuntimeError, match="producer failed"), storage.writer("half.bin") as out:
        out.write(payload(6 * MiB))  # remote: more than one part, so a multipart upload is open
        raise RuntimeError("producer failed")
    assert not storage.exists("half.bin")
    assert list(storage.list()) == []


def test_object_invisible_until_closed(make_storage: MakeStorage) -> None:
    storage = make_storage()
    out = storage.writer("slow.bin")
    out.write(payload(6 * MiB))
    assert not storage.exists("slow.bin")
    assert [info.key for info in storage.list()] == []
    out.close()
    assert storage.size("slow.bin") == 6 * MiB


def test_overwrite_replaces_whole_object(make_storage: MakeStorage) -> None:
    storage = make_storage()
    for content in (b"first version, longer", b"second"):
        with storage.writer("v.txt") as out:
            out.write(content)
    with storage.reader("v.txt") as stream:
        assert stream.read() == b"second"


def test_list_by_prefix_in_key_order(make_storage: MakeStorage) -> None:
    storage = make_storage()
    keys = ["data/chunk-000/b.parquet", "data/chunk-000/a.parquet", "data/chunk-001/a.parquet",
            "meta/info.json", "data-notes.txt", "odd key ü+%.bin"]  # fmt: skip
    for index, key in enumerate(keys):
        with storage.writer(key) as out:
            out.write(b"x" * index)
    assert [(i.key, i.size) for i in storage.list("data/")] == [
        ("data/chunk-000/a.parquet", 1), ("data/chunk-000/b.parquet", 0), ("data/chunk-001/a.parquet", 2)
    ]  # fmt: skip
    assert [i.key for i in storage.list("data")] == [
        "data-notes.txt", "data/chunk-000/a.parquet", "data/chunk-000/b.parquet", "data/chunk-001/a.parquet"
    ]  # fmt: skip
    assert [i.key for i in storage.list("odd")] == ["odd key ü+%.bin"]
    assert len(list(storage.list())) == len(keys)
    assert list(storage.list("nothing/")) == []


def test_listing_tells_a_replaced_object_of_the_same_size_apart(make_storage: MakeStorage, backend: str) -> None:
    storage = make_storage()
    listed = []
    for data in (b"first" * 200, b"other" * 200):
        before = time.time_ns()
        with storage.writer("rec.mcap") as out:
            out.write(data)
        (info,) = storage.list()
        # mtime_ns is nanoseconds since the epoch at the store's resolution (OSS: whole seconds)
        assert before - 2 * 10**9 <= info.mtime_ns <= time.time_ns() + 10**9
        if backend == "local":
            assert info.etag is None
        else:  # a single PUT's ETag is the MD5 of the object (S3 writes it in lower case, OSS in upper)
            assert info.etag is not None and info.etag.lower() == hashlib.md5(data).hexdigest()
        listed.append(info)
    assert listed[0].size == listed[1].size == 1000
    assert backend == "local" or listed[0].etag != listed[1].etag


def test_delete_is_idempotent(make_storage: MakeStorage) -> None:
    storage = make_storage()
    with storage.writer("a") as out:
        out.write(b"1")
    storage.delete("a")
    storage.delete("a")
    assert not storage.exists("a")


def test_missing_object_is_a_permanent_error_naming_it(make_storage: MakeStorage) -> None:
    storage = make_storage()
    with pytest.raises(StorageError, match=r"missing\.mcap.*(not found|no such file)"):
        storage.size("missing.mcap")
    with pytest.raises(StorageError, match=r"missing\.mcap"):
        storage.seekable_reader("missing.mcap")


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/etc/passwd", "a//b", "./a", ""])
def test_keys_cannot_escape_the_root(make_storage: MakeStorage, key: str) -> None:
    storage = make_storage()
    with pytest.raises(StorageError, match="refusing"):
        storage.writer(key)
    with pytest.raises(StorageError, match="refusing"):
        storage.exists(key)


def test_copy_between_backends(make_storage: MakeStorage, tmp_path: Path) -> None:
    storage = make_storage()
    local = open_storage(str(tmp_path / "other"))
    data = os.urandom(2 * MiB + 5)
    with local.writer("in.bin") as out:
        out.write(data)
    assert copy_object(local, "in.bin", storage, "copied/in.bin") == len(data)
    assert copy_object(storage, "copied/in.bin", local, "back.bin") == len(data)
    assert (tmp_path / "other" / "back.bin").read_bytes() == data
