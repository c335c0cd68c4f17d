"""Format detection by content, the registry, recursive discovery, and open_source on paths and streams."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from roboflow.errors import SourceError
from roboflow.sources import FORMATS, detect_format, find_recordings, is_rosbag2_dir, open_source
from roboflow.sources.detect import source_class

from .builders import BASE_NS, Msg, string_msg, write_mcap, write_ros1_bag, write_rosbag2, write_rrd


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("samples")
    return {
        "mcap": write_mcap(root / "a.mcap", [Msg("/chatter", BASE_NS + k, string_msg(str(k))) for k in range(3)]),
        "ros1bag": write_ros1_bag(root / "b.bag", "bz2"),
        "rosbag2": write_rosbag2(root / "c_bag"),
        "rrd": write_rrd(root / "d.rrd", frames=2),
    }


def test_content_wins_over_suffix(tmp_path: Path, samples: dict[str, Path]) -> None:
    for expected in ("mcap", "ros1bag", "rrd"):
        disguised = tmp_path / f"{expected}.dat"
        shutil.copyfile(samples[expected], disguised)
        assert detect_format(disguised) == expected
    single_db3 = tmp_path / "storage.bin"
    shutil.copyfile(samples["rosbag2"] / "c_bag.db3", single_db3)
    assert detect_format(single_db3) == "rosbag2"
    assert detect_format(samples["rosbag2"]) == "rosbag2"


def test_suffix_is_the_fallback_and_the_source_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "broken.mcap").write_bytes(b"\x00" * 40)
    assert detect_format(tmp_path / "broken.mcap") == "mcap"
    with pytest.raises(SourceError, match="not an MCAP file"):
        open_source(tmp_path / "broken.mcap")
    (tmp_path / "notes.txt").write_bytes(b"just some text")
    with pytest.raises(SourceError, match="unrecognised recording format") as caught:
        open_source(tmp_path / "notes.txt")
    assert "MCAP, ROS1 bags" in (caught.value.hint or "")
    (tmp_path / "zero.bin").write_bytes(b"")
    with pytest.raises(SourceError, match=r"file is empty \(0 bytes\)"):
        detect_format(tmp_path / "zero.bin")
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "missing.bag")


def test_plain_directory_is_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="directory is not a rosbag2 bag"):
        open_source(tmp_path)


@pytest.mark.parametrize("kind", ["mcap", "ros1bag", "rrd"])
def test_open_source_on_a_stream(samples: dict[str, Path], kind: str) -> None:
    with open_source(io.BytesIO(samples[kind].read_bytes()), name=f"s3://bucket/{kind}") as source:
        assert source.format == kind
        assert source.path == f"s3://bucket/{kind}"
        assert sum(1 for _ in source.messages()) > 0


def test_open_source_on_a_db3_stream(samples: dict[str, Path]) -> None:
    data = (samples["rosbag2"] / "c_bag.db3").read_bytes()
    with open_source(io.BytesIO(data), name="oss://bucket/c_bag.db3") as source:
        assert source.format == "rosbag2"
        assert sum(1 for _ in source.messages()) == 12


def test_registry_is_lazy_and_complete() -> None:
    assert set(FORMATS) == {"mcap", "ros1bag", "rosbag2", "rrd"}
    for name in FORMATS:
        assert source_class(name).format == name  # type: ignore[attr-defined]
    with pytest.raises(SourceError, match="unknown recording format 'hdf5'") as caught:
        source_class("hdf5")
    assert "mcap" in (caught.value.hint or "")


def test_rosbag2_directory_shapes(tmp_path: Path) -> None:
    split = tmp_path / "split"
    split.mkdir()
    for index in range(3):
        (split / f"run_{index}.mcap").write_bytes(b"")
    loose = tmp_path / "loose"
    loose.mkdir()
    for name in ("morning.mcap", "evening.mcap"):
        (loose / name).write_bytes(b"")
    gap = tmp_path / "gap"
    gap.mkdir()
    for index in (0, 2):
        (gap / f"run_{index}.mcap").write_bytes(b"")
    assert is_rosbag2_dir(split)
    assert not is_rosbag2_dir(loose)
    assert not is_rosbag2_dir(gap)


def test_find_recordings_searches_recursively(tmp_path: Path, samples: dict[str, Path]) -> None:
    nested = tmp_path / "site" / "day1"
    nested.mkdir(parents=True)
    shutil.copyfile(samples["mcap"], nested / "a.mcap")
    shutil.copytree(samples["rosbag2"], tmp_path / "site" / "bag")
    shutil.copyfile(samples["ros1bag"], tmp_path / "site" / "b.bag")
    (tmp_path / "site" / "README.md").write_text("not a recording")
    found = find_recordings(tmp_path / "site")
    assert [path.relative_to(tmp_path / "site").as_posix() for path in found] == ["b.bag", "bag", "day1/a.mcap"]
