"""RrdSource on a generated Rerun recording and the real (static URDF) one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from roboflow.errors import SourceError
from roboflow.sources.rrd import RrdSource

from .builders import write_rrd


@pytest.fixture(scope="module")
def rrd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rrd(tmp_path_factory.mktemp("rrd") / "rec.rrd")


def test_entities_are_topics_rows_are_messages(rrd: Path) -> None:
    with RrdSource(rrd) as source:
        types = {ch.topic: ch.schema.name for ch in source.channels if ch.schema}
        counts = {ch.topic: source.statistics()[ch.id].message_count for ch in source.channels}
        read = list(source.messages())
    assert types == {"/__properties": "RecordingInfo", "/calibration": "Scalars", "/cam": "Image",
                     "/depth": "Tensor", "/joint": "Scalars"}
    assert counts == {"/__properties": 1, "/calibration": 1, "/cam": 4, "/depth": 4, "/joint": 4}
    assert [m.log_time for m in read] == sorted(m.log_time for m in read)
    assert {m.channel.message_encoding for m in read} == {"rerun-arrow"}
    joint = [m for m in read if m.topic == "/joint"]
    assert [m.header_stamp for m in joint] == [1_700_000_000_000_000_000 + k * 100_000_000 for k in range(4)]


def test_static_rows_get_the_recording_start(rrd: Path) -> None:
    with RrdSource(rrd) as source:
        first = min(m.log_time for m in source.messages())
        (calibration,) = source.messages(topics=["/calibration"])
    assert calibration.log_time == first
    assert calibration.header_stamp is None


def test_topic_and_time_filters(rrd: Path) -> None:
    with RrdSource(rrd) as source:
        cams = list(source.messages(topics=["/cam"]))
        middle = list(source.messages(topics=["/cam"], start=cams[1].log_time, stop=cams[3].log_time))
        assert list(source.messages(topics=["/nothing"])) == []
    assert len(cams) == 4
    assert [m.log_time for m in middle] == [m.log_time for m in cams[1:3]]


def test_stream_is_spooled_to_a_temporary_file(rrd: Path) -> None:
    source = RrdSource(io.BytesIO(rrd.read_bytes()), name="s3://bucket/rec.rrd")
    spooled = source._file
    assert spooled.exists() and source.path == "s3://bucket/rec.rrd"
    assert sum(1 for _ in source.messages(topics=["/joint"])) == 4
    source.close()
    assert not spooled.exists()


def test_static_urdf_recording(recordings: Path) -> None:
    with RrdSource(recordings / "foxglove_sdk/so100.rrd") as source:
        assert len(source.channels) == 20
        assert source.writer_version == "0.23.1"
        assets = [ch for ch in source.channels if "Asset3D" in (ch.schema.name if ch.schema else "")]
        assert len(assets) == 13


def test_unsupported_rerun_versions(tmp_path: Path, rrd: Path) -> None:
    data = rrd.read_bytes()
    old = tmp_path / "old.rrd"
    old.write_bytes(data[:4] + bytes([0, 9, 0, 0]) + data[8:])
    with pytest.raises(SourceError, match=r"written by Rerun 0\.9\.0, which rerun-sdk \S+ cannot read"):
        RrdSource(old)
    legacy = tmp_path / "legacy.rrd"
    legacy.write_bytes(b"RRF1" + data[4:])
    with pytest.raises(SourceError, match=r"old Rerun \(RRF1 format\)"):
        RrdSource(legacy)


def test_damaged_and_foreign_files(tmp_path: Path, rrd: Path) -> None:
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(rrd.read_bytes()[: rrd.stat().st_size // 2])
    with pytest.raises(SourceError, match="unreadable .rrd"):
        RrdSource(cut)
    (tmp_path / "x.rrd").write_bytes(b"not rerun at all")
    with pytest.raises(SourceError, match="not a Rerun .rrd file"):
        RrdSource(tmp_path / "x.rrd")
