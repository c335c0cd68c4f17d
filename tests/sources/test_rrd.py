"""RrdSource on a generated Rerun recording and the real (static URDF) one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from roboflow.errors import SourceError
from roboflow.sources.rrd import RrdSource
from roboflow.sources.rrd_timelines import Clock

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


def _timelines_rrd(path: Path, *, extra_clock: bool = False, sequence_only: bool = False) -> Path:
    """Four rows of /joint logged offline (log_time spans microseconds) on user timelines 0.1 s apart."""
    import rerun as rr

    recording = rr.RecordingStream("roboflow-tests", recording_id=path.name)
    recording.save(path)
    recording.reset_time()  # the time context outlives a stream on this thread
    for k in range(4):
        recording.set_time("frame_index", sequence=10 + k)
        if not sequence_only:
            recording.set_time("time", timestamp=1_700_000_000 + k * 0.1)
        if extra_clock:
            recording.set_time("sensor_time", timestamp=1_600_000_000 + k * 0.2)
        recording.log("/joint", rr.Scalars([float(k)]))
    recording.log("/robot.urdf", rr.Asset3D(contents=b"solid x\nendsolid x\n", media_type="model/stl"), static=True)
    recording.flush()
    recording.disconnect()
    return path


def test_the_user_timestamp_timeline_is_the_clock(tmp_path: Path) -> None:
    with RrdSource(_timelines_rrd(tmp_path / "t.rrd"), clock=Clock()) as source:
        times = [m.log_time for m in source.messages(topics=["/joint"])]
        assert source.clock == "time"
        assert {t.name: t.kind for t in source.timelines.values()} == {
            "frame_index": "sequence", "time": "timestamp", "log_time": "timestamp"}
        assert source.timelines["frame_index"].start == 10 and source.timelines["frame_index"].end == 13
    assert times == [1_700_000_000_000_000_000 + k * 100_000_000 for k in range(4)]


def test_a_sequence_timeline_needs_a_rate(tmp_path: Path) -> None:
    path = _timelines_rrd(tmp_path / "t.rrd")
    with RrdSource(path, clock=Clock("frame_index", 20.0)) as source:
        assert [m.log_time for m in source.messages(topics=["/joint"])] == [(10 + k) * 50_000_000 for k in range(4)]
    with RrdSource(path, clock=Clock(rate=20.0)) as source:
        assert source.clock == "frame_index"
    with pytest.raises(SourceError, match=r"timeline 'frame_index' is a sequence \(steps 10\.\.13\).*timeline_rate"):
        RrdSource(path, clock=Clock("frame_index"))
    with pytest.raises(SourceError, match=r"\[source\] timeline 'nope' is not in this recording.*frame_index "
                                          r"\(sequence\), time \(timestamp\), log_time \(timestamp\)"):
        RrdSource(path, clock=Clock("nope"))


def test_several_timestamp_timelines_need_a_choice(tmp_path: Path) -> None:
    path = _timelines_rrd(tmp_path / "t.rrd", extra_clock=True)
    with pytest.raises(SourceError, match=r"2 timestamp timelines \(sensor_time, time\).*"
                                          r'set \[source\] timeline = "sensor_time"'):
        RrdSource(path, clock=Clock())
    with RrdSource(path, clock=Clock("time")) as source:
        assert source.clock == "time"
    with RrdSource(path) as source:  # inspect: never refuses
        assert source.clock == "sensor_time"


def test_without_user_timestamps_log_time_is_the_clock(tmp_path: Path) -> None:
    with RrdSource(_timelines_rrd(tmp_path / "t.rrd", sequence_only=True), clock=Clock()) as source:
        assert source.clock == "log_time"
        rows = list(source.messages(topics=["/joint"]))
    assert len(rows) == 4 and rows[-1].log_time - rows[0].log_time < 1_000_000_000


def test_static_components_of_an_entity_in_time_hold_for_each_row(tmp_path: Path) -> None:
    """As in Rerun: a series' static names and a VideoStream's static codec are no messages, but each row has
    them; a row's own value wins."""
    import rerun as rr

    from roboflow.decode import decoder_for

    path = tmp_path / "static.rrd"
    recording = rr.RecordingStream("roboflow-tests", recording_id="static")
    recording.save(path)
    recording.log("/joints", rr.SeriesLines(names=["a", "b"]), static=True)
    recording.log("/video", rr.VideoStream(codec=rr.VideoCodec.H264), static=True)
    for k in range(3):
        recording.set_time("time", timestamp=1.7e9 + k)
        recording.log("/joints", rr.Scalars([k, -k]))
        recording.log("/video", rr.VideoStream.from_fields(sample=bytes([k])))
    recording.set_time("time", timestamp=1.7e9 + 3)
    recording.log("/joints", rr.SeriesLines(names=["c", "d"]), rr.Scalars([3, -3]))
    recording.flush()
    recording.disconnect()
    with RrdSource(path) as source:
        rows = [(m.topic, decoder_for(m.channel)(m.data)) for m in source.messages()]
    names = [row["SeriesLines:names"] for topic, row in rows if topic == "/joints"]
    assert names == [["a", "b"]] * 3 + [["c", "d"]]
    video = [row for topic, row in rows if topic == "/video"]
    assert [(int(row["VideoStream:codec"][0]), row["VideoStream:sample"].tolist()) for row in video] == [
        (int(rr.VideoCodec.H264.value), [k]) for k in range(3)]
