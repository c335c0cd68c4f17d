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


@pytest.mark.parametrize(("version", "options"), [((0, 9, 0), None), ((0, 17, 0), (1, 1)), ((0, 22, 1), (1, 1))])
def test_files_of_an_old_rerun_name_its_version_and_the_versions_read(
        recordings: Path, tmp_path: Path, version: tuple[int, int, int], options: tuple[int, int] | None) -> None:
    """The real so100.rrd's header rewritten as an older Rerun wrote it (before 0.23: MsgPack, options 1 1)."""
    data = (recordings / "foxglove_sdk/so100.rrd").read_bytes()
    header = data[:4] + bytes([*version, 0]) + (bytes([*options, 0, 0]) if options else data[8:12])
    old = tmp_path / "old.rrd"
    old.write_bytes(header + data[12:])
    written = ".".join(map(str, version))
    with pytest.raises(SourceError, match=rf"old.rrd: written by Rerun {written}; rerun-sdk \S+ reads files of Rerun "
                                          r"0\.23 and newer \(re-save it with Rerun 0\.23 or newer\)") as caught:
        RrdSource(old)
    assert "damaged" not in str(caught.value)


def test_old_rerun_formats_and_what_rerun_sdk_refuses(recordings: Path, tmp_path: Path) -> None:
    data = (recordings / "foxglove_sdk/so100.rrd").read_bytes()
    legacy = tmp_path / "legacy.rrd"
    legacy.write_bytes(b"RRF1" + data[4:])
    with pytest.raises(SourceError, match=r"written by an old Rerun \(RRF1 format\); rerun-sdk \S+ reads files of "
                                          r"Rerun 0\.23 and newer"):
        RrdSource(legacy)
    msgpack = tmp_path / "msgpack.rrd"  # a header that passes the version check, options rerun-sdk calls "old .rrd"
    msgpack.write_bytes(data[:8] + bytes([1, 1, 0, 0]) + data[12:])
    with pytest.raises(SourceError, match=r"written by Rerun 0\.23\.1; rerun-sdk \S+ reads files of Rerun 0\.23"):
        RrdSource(msgpack)


def test_damaged_and_foreign_files(tmp_path: Path, rrd: Path) -> None:
    cut = tmp_path / "cut.rrd"
    cut.write_bytes(rrd.read_bytes()[: rrd.stat().st_size // 2])
    with pytest.raises(SourceError, match="unreadable .rrd"):
        RrdSource(cut)
    (tmp_path / "x.rrd").write_bytes(b"not rerun at all")
    with pytest.raises(SourceError, match="not a Rerun .rrd file"):
        RrdSource(tmp_path / "x.rrd")
