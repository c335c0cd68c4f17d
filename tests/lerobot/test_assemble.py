"""Assemblers and their parts: row renumbering, video joining by stream copy, v3.0 file rollover."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.errors import DatasetError
from roboflow.lerobot.assemble import (
    EpisodePart,
    FileLimits,
    RowSlice,
    TaskTable,
    copy_rows,
    open_assembler,
    prepare_output,
    read_rows,
)
from roboflow.lerobot.validate import validate_dataset
from roboflow.lerobot.videocat import VideoJoiner, VideoSlice, stream_params
from roboflow.synth.truth import decode_pattern, render_frame


def encode(path: Path, ids: list[int], fps: int, options: dict[str, str] | None = None) -> Path:
    """An mp4 whose frame k shows pattern ``ids[k]``, frame k at k/fps."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = options or {"preset": "ultrafast", "g": "3"}
        for k, content in enumerate(ids):
            frame = av.VideoFrame.from_ndarray(render_frame(content, 64, 48), format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def shown(path: Path) -> list[tuple[Fraction, int]]:
    """(presentation time, pattern id) of every decoded frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            (frame.pts * stream.time_base, decode_pattern(frame.to_ndarray(format="rgb24")).frame)
            for frame in container.decode(stream)
        ]


@pytest.mark.parametrize("fps", [5, 10, 30])
def test_joiner_places_frame_n_at_n_over_fps(tmp_path: Path, fps: int) -> None:
    first = encode(tmp_path / "a.mp4", [0, 1, 2, 3, 4, 5], fps)
    second = encode(tmp_path / "b.mp4", [10, 11, 12, 13], fps, {"preset": "medium", "g": "2", "bf": "2"})
    joiner = VideoJoiner(tmp_path / "out.mp4", fps)
    assert joiner.append(VideoSlice(first, 3, 3)) == 0  # a range from the middle, starting on a keyframe
    assert joiner.append(VideoSlice(first, 0, 6)) == 3
    joiner.close()
    joiner.close()
    data = (tmp_path / "out.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart, whatever the sources had
    expected = [3, 4, 5, 0, 1, 2, 3, 4, 5]
    assert shown(tmp_path / "out.mp4") == [(Fraction(n, fps), content) for n, content in enumerate(expected)]
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert (Fraction(1, fps) / container.streams.video[0].time_base).denominator == 1
    other = VideoJoiner(tmp_path / "other.mp4", fps)
    other.append(VideoSlice(second, 2, 2))
    with pytest.raises(DatasetError, match="codec parameters differ"):
        other.append(VideoSlice(first, 0, 3))
    other.close()
    assert [content for _, content in shown(tmp_path / "other.mp4")] == [12, 13]


def test_joiner_refuses_bad_ranges(tmp_path: Path) -> None:
    source = encode(tmp_path / "a.mp4", [0, 1, 2, 3, 4, 5], 10)
    joiner = VideoJoiner(tmp_path / "out.mp4", 10)
    with pytest.raises(DatasetError, match="frame 1 starts a range but is not a keyframe"):
        joiner.append(VideoSlice(source, 1, 2))
    with pytest.raises(DatasetError, match="has 3 frames in 3..6, expected 4"):
        VideoJoiner(tmp_path / "out2.mp4", 10).append(VideoSlice(source, 3, 4))
    with pytest.raises(DatasetError, match="cannot read video"):
        stream_params(tmp_path / "missing.mp4")


def rows_file(path: Path, task_index: list[int]) -> Path:
    n = len(task_index)
    table = pa.table(
        {
            "x": pa.array(np.arange(n, dtype=np.float32)),
            "timestamp": pa.array((np.arange(n) / 10).astype(np.float32)),
            "frame_index": pa.array(np.arange(n, dtype=np.int64)),
            "episode_index": pa.array(np.zeros(n, dtype=np.int64)),
            "index": pa.array(np.arange(n, dtype=np.int64)),
            "task_index": pa.array(np.asarray(task_index, dtype=np.int64)),
        }
    )
    pq.write_table(table, path, row_group_size=3)
    return path


def test_copy_rows_renumbers_and_recomputes_stats(tmp_path: Path) -> None:
    path = rows_file(tmp_path / "rows.parquet", [0, 0, 2, 2, 1, 0, 1, 2])
    part = EpisodePart(5, ("a", "b", "c"), RowSlice(path, 2, 5), {}, {"x": {"min": np.array([0.0])}})
    tasks = TaskTable()
    tasks.register("c")
    written: list[pa.Table] = []
    copied = copy_rows(
        part, episode=4, first_index=100, tasks=tasks, schema=pq.read_schema(path), write=written.append
    )
    table = pa.concat_tables(written)
    assert table.column("index").to_pylist() == [100, 101, 102, 103, 104]
    assert table.column("episode_index").to_pylist() == [4] * 5
    assert table.column("frame_index").to_pylist() == [2, 3, 4, 5, 6]  # kept
    assert table.column("x").to_pylist() == [2, 3, 4, 5, 6]
    assert tasks.names == ["c", "b", "a"]  # "c" was known; then b and a in order of first appearance
    assert table.column("task_index").to_pylist() == [0, 0, 1, 2, 1]
    assert copied.tasks == ("c", "b", "a")
    assert copied.stats["x"] == {"min": np.array([0.0])}  # passed through
    assert copied.stats["index"]["min"].tolist() == [100.0] and copied.stats["index"]["max"].tolist() == [
        104.0
    ]
    assert copied.stats["episode_index"]["mean"].tolist() == [4.0]
    assert copied.stats["task_index"]["max"].tolist() == [2.0]
    assert sum(batch.num_rows for batch in read_rows(RowSlice(path, 7, 1))) == 1


def test_copy_rows_refuses_bad_parts(tmp_path: Path) -> None:
    path = rows_file(tmp_path / "rows.parquet", [0, 1, 0])
    schema = pq.read_schema(path)
    ok = EpisodePart(3, ("a", "b"), RowSlice(path, 0, 3), {}, {}, origin="shard-7")
    with pytest.raises(DatasetError, match="task_index 1 has no task"):
        copy_rows(
            ok.__class__(3, ("a",), ok.rows, {}, {}),
            episode=0,
            first_index=0,
            tasks=TaskTable(),
            schema=schema,
            write=lambda _: None,
        )
    with pytest.raises(DatasetError, match="shard-7: has 3 rows, expected 4"):
        copy_rows(
            EpisodePart(4, ("a", "b"), RowSlice(path, 0, 4), {}, {}, origin="shard-7"),
            episode=0,
            first_index=0,
            tasks=TaskTable(),
            schema=schema,
            write=lambda _: None,
        )
    with pytest.raises(DatasetError, match="shard-7: rows have schema"):
        copy_rows(
            ok, episode=0, first_index=0, tasks=TaskTable(), schema=schema.remove(0), write=lambda _: None
        )


def test_v30_rollover_and_chunk_numbering(tmp_path: Path, kit: Any) -> None:
    limits = FileLimits(chunks_size=2, data_files_size_in_mb=1e-6, video_files_size_in_mb=1e-6)
    out = kit.write(tmp_path / "ds", kit.three_episodes, limits=limits)
    loaded = kit.check(out, kit.three_episodes, format="v3.0")
    places = [(0, 0), (0, 1), (1, 0)]
    assert [(e["data/chunk_index"], e["data/file_index"]) for e in loaded.episodes] == places
    for key in (kit.front, kit.wrist):
        assert [
            (e[f"videos/{key}/chunk_index"], e[f"videos/{key}/file_index"]) for e in loaded.episodes
        ] == places
    assert (out / "data/chunk-001/file-000.parquet").is_file()
    assert (out / "videos/observation.images.wrist/chunk-001/file-000.mp4").is_file()
    assert loaded.info["chunks_size"] == 2 and loaded.info["data_files_size_in_mb"] == 1e-6
    assert validate_dataset(out) == []


@pytest.mark.parametrize("format", ["v3.0", "v2.1"])
def test_writing_twice_gives_identical_data_and_metadata(tmp_path: Path, kit: Any, format: str) -> None:
    one = kit.write(tmp_path / "one", kit.three_episodes, format=format)
    two = kit.write(tmp_path / "two", kit.three_episodes, format=format)
    names = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file() and p.suffix != ".mp4")
    assert len(names) >= 5
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_open_assembler_and_prepare_output(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset format 'v9'"):
        open_assembler(tmp_path, None, format="v9")  # type: ignore[arg-type]
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="exists and is not a directory"):
        prepare_output(tmp_path / "file", overwrite=True)
    with pytest.raises(DatasetError, match="positive"):
        FileLimits(data_files_size_in_mb=0)
