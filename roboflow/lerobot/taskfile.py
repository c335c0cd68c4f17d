"""meta/tasks.parquet of a v3.0 dataset, written and read with pyarrow alone.

lerobot reads the file with ``pd.read_parquet`` and takes the task strings from the frame's index, so the file
must carry pandas' own metadata (``schema.metadata[b"pandas"]``) naming a stored index column. Here that
metadata is built by hand, the same bytes ``pa.Table.from_pandas(frame, preserve_index=True)`` writes for an
object-dtype index and column labels (what pandas 2, lerobot's, writes and reads): a conversion then never
imports pandas, ~50 MB of RSS it would not use.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pyarrow as pa

__all__ = ["task_names", "tasks_table"]

#: The field pandas gives an unnamed index.
_INDEX_FIELD = "__index_level_0__"


def tasks_table(names: list[str]) -> pa.Table:
    """Column ``task_index`` (0..N-1) with the task strings as the pandas index."""
    index_type = pa.string() if names else pa.null()  # pandas' type for an empty object column
    metadata = {
        "index_columns": [_INDEX_FIELD],
        "column_indexes": [_column_metadata(None, None, "unicode", "object", {"encoding": "UTF-8"})],
        "columns": [
            _column_metadata("task_index", "task_index", "int64", "int64"),
            _column_metadata(None, _INDEX_FIELD, "unicode" if names else "empty", "object"),
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": version("pandas"),
    }
    schema = pa.schema(
        [pa.field("task_index", pa.int64()), pa.field(_INDEX_FIELD, index_type)],
        metadata={b"pandas": json.dumps(metadata).encode()},
    )
    columns = [pa.array(range(len(names)), pa.int64()), pa.array(names, index_type)]
    return pa.Table.from_arrays(columns, schema=schema)


def task_names(table: pa.Table) -> list[str] | None:
    """The task strings of a tasks table: its pandas index, if that is one column of strings without nulls.

    None when ``pd.read_parquet`` would not give string labels: no pandas metadata (a RangeIndex), a range
    or multi-level index, an index column of another type or with nulls (an empty column may have any type:
    pandas writes an empty object index as nulls).
    """
    raw = (table.schema.metadata or {}).get(b"pandas")
    if raw is None:
        return None
    try:
        index_columns = json.loads(raw)["index_columns"]
    except (ValueError, KeyError, TypeError):
        return None
    if len(index_columns) != 1 or not isinstance(index_columns[0], str):
        return None
    name = index_columns[0]
    if name not in table.column_names:
        return None
    column = table.column(name)
    kind = column.type
    strings = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    if len(column) and (not strings or column.null_count):
        return None
    return [str(task) for task in column.to_pylist()]


def _column_metadata(
    name: str | None, field_name: str | None, pandas_type: str, numpy_type: str, metadata: Any = None
) -> dict[str, Any]:
    return {
        "name": name,
        "field_name": field_name,
        "pandas_type": pandas_type,
        "numpy_type": numpy_type,
        "metadata": metadata,
    }
