"""meta/tasks.parquet written by pyarrow alone is the file pandas writes, and reads back the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.lerobot.metafiles import write_parquet
from roboflow.lerobot.taskfile import task_names, tasks_table

NAMES = [
    ["pick the cube"],
    ["pick the cube", "place it in the bowl", "wave", "dé-plier le linge 🧺"],
    [],
]


def pandas_table(names: list[str]) -> pa.Table:
    """What roboflow wrote before: the frame lerobot's pandas 2 writes, through ``from_pandas``."""
    frame = pd.DataFrame(
        {"task_index": np.arange(len(names), dtype=np.int64)}, index=pd.Index(names, dtype=object)
    )
    frame.columns = pd.Index(["task_index"], dtype=object)
    return pa.Table.from_pandas(frame, preserve_index=True)


@pytest.mark.parametrize("names", NAMES, ids=["one", "four", "none"])
def test_table_is_the_pandas_table(names: list[str]) -> None:
    ours, theirs = tasks_table(names), pandas_table(names)
    assert ours.schema.equals(theirs.schema, check_metadata=True)
    assert ours.schema.metadata[b"pandas"] == theirs.schema.metadata[b"pandas"]
    assert ours.equals(theirs)
    assert json.loads(ours.schema.metadata[b"pandas"])["index_columns"] == ["__index_level_0__"]


@pytest.mark.parametrize("names", NAMES, ids=["one", "four", "none"])
def test_file_reads_back_in_pandas_as_the_pandas_file(tmp_path: Path, names: list[str]) -> None:
    write_parquet(tmp_path / "ours.parquet", tasks_table(names))
    write_parquet(tmp_path / "theirs.parquet", pandas_table(names))
    ours, theirs = pq.read_schema(tmp_path / "ours.parquet"), pq.read_schema(tmp_path / "theirs.parquet")
    assert ours.equals(theirs, check_metadata=True)
    frame = pd.read_parquet(tmp_path / "ours.parquet")
    pd.testing.assert_frame_equal(frame, pd.read_parquet(tmp_path / "theirs.parquet"))
    assert list(frame.index) == names
    assert list(frame.columns) == ["task_index"]
    assert frame["task_index"].tolist() == list(range(len(names)))
    assert task_names(pq.read_table(tmp_path / "ours.parquet")) == names


def test_names_of_files_pandas_writes_by_default(tmp_path: Path) -> None:
    """lerobot's own files: a pandas (3's str or 2's object) index of task strings, named or not."""
    names = ["pick", "place"]
    frame = pd.DataFrame({"task_index": [0, 1]}, index=pd.Index(names))
    frame.to_parquet(tmp_path / "plain.parquet")
    frame.rename_axis("task").to_parquet(tmp_path / "named.parquet")
    assert task_names(pq.read_table(tmp_path / "plain.parquet")) == names
    assert task_names(pq.read_table(tmp_path / "named.parquet")) == names


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"task_index": [0, 1], "task": ["pick", "place"]}),  # a RangeIndex: task is a column
        pd.DataFrame({"task_index": [0, 1]}, index=pd.Index([10, 11])),
        pd.DataFrame({"task_index": [0, 1]}, index=pd.Index(["pick", None], dtype=object)),
        pd.DataFrame({"task_index": [0, 1]}, index=pd.MultiIndex.from_tuples([("a", "b"), ("c", "d")])),
    ],
    ids=["range", "integers", "null", "multi"],
)
def test_no_names_unless_the_index_is_strings(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(tmp_path / "tasks.parquet")
    assert task_names(pq.read_table(tmp_path / "tasks.parquet")) is None


def test_no_names_without_pandas_metadata() -> None:
    table = pa.table({"task_index": pa.array([0], pa.int64()), "__index_level_0__": pa.array(["pick"])})
    assert task_names(table) is None
