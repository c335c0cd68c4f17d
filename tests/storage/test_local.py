"""Local backend specifics: temp-then-rename, partial files, root guard."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from roboflow.errors import StorageError
from roboflow.storage import open_storage
from roboflow.storage.local import PARTIAL_MARK


def test_write_in_progress_is_a_hidden_partial_file(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path))
    out = storage.writer("ep/a.parquet")
    out.write(b"half")
    names = os.listdir(tmp_path / "ep")
    assert len(names) == 1 and names[0].startswith(PARTIAL_MARK)
    assert list(storage.list()) == [] and not storage.exists("ep/a.parquet")
    out.close()
    assert os.listdir(tmp_path / "ep") == ["a.parquet"]


def test_dropped_writer_leaves_nothing(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path))
    out = storage.writer("a.bin")
    out.write(b"x")
    del out
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_reading_a_directory_or_forbidden_file(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    storage = open_storage(str(tmp_path))
    with pytest.raises(StorageError, match="is a directory"):
        storage.reader("dir")
    with pytest.raises(StorageError, match="no such file"):
        storage.size("dir")
    secret = tmp_path / "locked.bin"
    secret.write_bytes(b"x")
    secret.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(StorageError, match="permission denied.*check file permissions"):
            storage.reader("locked.bin")


def test_symlinked_directory_inside_root_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.txt").write_text("x")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "root")
    storage = open_storage(str(tmp_path / "root"))
    with storage.reader("link/x.txt") as stream:
        assert stream.read() == b"x"
    assert [info.key for info in storage.list()] == ["link/x.txt"]
