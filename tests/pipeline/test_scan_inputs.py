from __future__ import annotations

from pathlib import Path

import pytest

from roboflow.errors import UserError
from roboflow.pipeline import scan


def touch(path: Path, head: bytes = b"\x89MCAP0\r\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head)
    return path


def test_files_directories_and_globs_in_sorted_path_order(tmp_path: Path) -> None:
    b = touch(tmp_path / "data" / "b.mcap")
    a = touch(tmp_path / "data" / "sub" / "a.bag", b"#ROSBAG V2.0\n")
    bag = tmp_path / "data" / "bag2"
    touch(bag / "metadata.yaml", b"rosbag2_bagfile_information: {}\n")
    touch(bag / "bag2_0.db3", b"SQLite format 3\x00")
    touch(tmp_path / "data" / "notes.txt", b"hello")
    z = touch(tmp_path / "z.mcap")
    items = scan([str(z), str(tmp_path / "data"), str(tmp_path / "data" / "*.mcap")])
    assert [item.url for item in items] == [str(b), str(bag), str(a), str(z)]
    assert [item.index for item in items] == [0, 1, 2, 3]
    assert len({item.key for item in items}) == 4 and items[0].key.startswith("000000-b.mcap-")
    assert scan([str(bag / "metadata.yaml")])[0].url == str(bag / "metadata.yaml")


def test_inputs_that_name_nothing_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file, directory or glob match"):
        scan([str(tmp_path / "missing.mcap")])
    with pytest.raises(UserError, match=r"no such file, directory or glob match"):
        scan([str(tmp_path / "*.bag")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no recordings here"):
        scan([str(tmp_path / "empty")])
