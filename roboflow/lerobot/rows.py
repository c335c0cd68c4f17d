"""A range of rows of a parquet file (an episode's rows inside a data file) and reading it in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["BATCH_ROWS", "RowSlice", "read_rows"]

#: Rows read at a time (and at most per row group of a file the assemblers write).
BATCH_ROWS = 16384


@dataclass(frozen=True, slots=True)
class RowSlice:
    """Rows ``start .. start + length - 1`` of the parquet file ``path``."""

    path: Path
    start: int
    length: int


def read_rows(
    rows: RowSlice, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The rows of a slice as batches of at most ``batch_rows``, reading only the row groups it overlaps.

    Args:
        rows: The slice.
        columns: The columns to read, in this order; None for all.
        batch_rows: The most rows per batch (fewer for columns of pictures).
    """
    with pq.ParquetFile(rows.path) as parquet:
        groups: list[int] = []
        first = 0
        group_start = 0
        for number in range(parquet.metadata.num_row_groups):
            count = parquet.metadata.row_group(number).num_rows
            if group_start + count > rows.start and group_start < rows.start + rows.length:
                if not groups:
                    first = group_start
                groups.append(number)
            group_start += count
        position = first
        for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=groups, columns=columns):
            lo = max(rows.start - position, 0)
            hi = min(rows.start + rows.length - position, batch.num_rows)
            position += batch.num_rows
            if hi > lo:
                yield batch.slice(lo, hi - lo)
