"""Rosbag2Source on generated bags: storage plugins, compression modes, split files, metadata as a hint."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from roboflow.decode import decoder_for
from roboflow.errors import SourceError
from roboflow.sources.rosbag2 import Rosbag2Source

from .builders import BASE_NS, split_without_metadata, write_rosbag2

VARIANTS = [(storage, compression) for storage in ("sqlite3", "mcap") for compression in ("none", "message", "file")]


def _read(source: Rosbag2Source) -> list[tuple[str, int, object]]:
    out = []
    for message in source.messages():
        decoded = decoder_for(message.channel)(message.data)
        out.append((message.topic, message.log_time, getattr(decoded, "data", None) if message.topic == "/chatter" else decoded.width))  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(("storage", "compression"), VARIANTS)
def test_storage_and_compression_variants_read_the_same(tmp_path: Path, storage: str, compression: str) -> None:
    with Rosbag2Source(write_rosbag2(tmp_path / "bag", storage, compression)) as source:
        read = _read(source)
        stamps = [m.header_stamp for m in source.messages(topics=["/camera"])]
        stats = {ch.topic: source.statistics()[ch.id] for ch in source.channels}
    expected = []
    for k in range(6):
        expected += [("/chatter", BASE_NS + k * 1000, f"hi {k}"), ("/camera", BASE_NS + k * 1000 + 5, 8)]
    assert read == expected
    assert stamps == [BASE_NS + k * 1000 for k in range(6)]
    assert stats["/camera"].message_count == 6
    assert (stats["/chatter"].start_time, stats["/chatter"].end_time) == (BASE_NS, BASE_NS + 5000)


@pytest.mark.parametrize(("storage", "suffix"), [("sqlite3", ".db3"), ("mcap", ".mcap")])
def test_split_files_without_metadata_are_merged_in_order(tmp_path: Path, storage: str, suffix: str) -> None:
    parts = [write_rosbag2(tmp_path / f"part{i}", storage, count=3, start=BASE_NS + i * 10_000) for i in range(3)]
    bag = split_without_metadata(parts, tmp_path / "split", suffix)
    with Rosbag2Source(bag) as source:
        times = [m.log_time for m in source.messages(topics=["/chatter"])]
        assert len(source.channels) == 2
    assert times == [BASE_NS + i * 10_000 + k * 1000 for i in range(3) for k in range(3)]


def test_metadata_yaml_may_be_given_instead_of_the_directory(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    with Rosbag2Source(bag / "metadata.yaml") as source:
        assert sum(1 for _ in source.messages()) == 12


def test_missing_split_file_is_an_error(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text())
    metadata["rosbag2_bagfile_information"]["relative_file_paths"].append("bag_1.db3")
    (bag / "metadata.yaml").write_text(yaml.safe_dump(metadata))
    with pytest.raises(SourceError, match="metadata.yaml lists bag_1.db3, which is missing"):
        Rosbag2Source(bag)


def test_metadata_promising_messages_the_storage_lacks_is_an_error(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag", count=0)
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text())
    metadata["rosbag2_bagfile_information"]["message_count"] = 12
    (bag / "metadata.yaml").write_text(yaml.safe_dump(metadata))
    with pytest.raises(SourceError, match="lists 12 messages but the storage files hold none"):
        Rosbag2Source(bag)


def test_qos_strings_in_metadata_do_not_matter(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    text = (bag / "metadata.yaml").read_text()
    assert text.count("offered_qos_profiles: []") == 2
    (bag / "metadata.yaml").write_text(text.replace("offered_qos_profiles: []", "offered_qos_profiles: '- depth: 99'"))
    with Rosbag2Source(bag) as source:
        assert sum(1 for _ in source.messages()) == 12


def test_single_storage_file_from_a_stream_uses_a_temporary_copy(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag")
    data = (bag / "bag.db3").read_bytes()
    source = Rosbag2Source(io.BytesIO(data), name="s3://bucket/bag.db3")
    scratch = Path(source._tempdir.name)  # type: ignore[union-attr]
    assert scratch.is_dir()
    assert sum(1 for _ in source.messages()) == 12
    source.close()
    assert not scratch.exists()


def test_committed_data_in_a_wal_file_is_read(tmp_path: Path) -> None:
    bag = write_rosbag2(tmp_path / "bag", count=2)
    live = tmp_path / "live.db3"
    shutil.copyfile(bag / "bag.db3", live)
    writer = sqlite3.connect(live)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO messages(topic_id, timestamp, data) SELECT topic_id, timestamp + 100000, data FROM messages")
    writer.commit()
    target = tmp_path / "walbag"
    target.mkdir()
    shutil.copyfile(live, target / "walbag_0.db3")
    shutil.copyfile(live.with_name("live.db3-wal"), target / "walbag_0.db3-wal")
    writer.close()
    assert (target / "walbag_0.db3-wal").stat().st_size > 0
    with Rosbag2Source(target) as source:
        assert sum(1 for _ in source.messages()) == 8


def test_directory_without_storage_files(tmp_path: Path) -> None:
    (tmp_path / "metadata.yaml").write_text("rosbag2_bagfile_information: {version: 9}\n")
    with pytest.raises(SourceError, match="no rosbag2 storage files"):
        Rosbag2Source(tmp_path)


def test_storage_readers_do_not_import_the_module_that_chooses_them() -> None:
    code = ("import sys, roboflow.sources.rosbag2_sqlite; "
            "assert 'roboflow.sources.rosbag2_storage' not in sys.modules, 'import circle'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
