"""read_parquet: one parquet file, whole or some columns, errors as pq.read_table raises them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.lerobot.metafiles import read_parquet, write_parquet

TABLE = pa.table(
    {"index": pa.array([0, 1, 2], pa.int64()), "timestamp": pa.array([0.0, 0.5, 1.0], pa.float32())},
    metadata={b"origin": b"test"},
)


def test_reads_the_file_as_read_table(tmp_path: Path) -> None:
    write_parquet(tmp_path / "t.parquet", TABLE)
    table = read_parquet(tmp_path / "t.parquet")
    assert table.equals(pq.read_table(tmp_path / "t.parquet"))
    assert table.schema.equals(TABLE.schema, check_metadata=True)
    assert table.column("timestamp").to_pylist() == [0.0, 0.5, 1.0]


def test_reads_columns(tmp_path: Path) -> None:
    write_parquet(tmp_path / "t.parquet", TABLE)
    table = read_parquet(tmp_path / "t.parquet", ["timestamp"])
    assert table.column_names == ["timestamp"]
    assert table.num_rows == 3


def test_a_missing_column_is_an_arrow_error(tmp_path: Path) -> None:
    write_parquet(tmp_path / "t.parquet", TABLE)
    with pytest.raises(pa.ArrowInvalid, match="no column frame_index, task_index"):
        read_parquet(tmp_path / "t.parquet", ["index", "task_index", "frame_index"])


def test_not_parquet_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet" * 10)
    with pytest.raises(pa.ArrowInvalid):
        read_parquet(tmp_path / "bad.parquet")
    with pytest.raises(FileNotFoundError):
        read_parquet(tmp_path / "missing.parquet")
