"""The conversion pipeline: three stages as plain functions, and the local executor that runs them.

* :func:`scan` (inputs -> :class:`WorkItem` list, sorted),
* :func:`convert_recording` (one item -> one shard dataset),
* :func:`merge_shards` (shards -> the dataset, published at once);
* :func:`run_local` runs them with a process pool (``roboflow convert``). The Celery tasks call the same stages.
"""

from __future__ import annotations

from roboflow.pipeline.convert import ConvertContext, ShardResult, convert_recording
from roboflow.pipeline.local import Failure, RunEvents, RunOptions, RunReport, run_local
from roboflow.pipeline.merge import MergeContext, merge_shards
from roboflow.pipeline.scan import WorkItem, scan

__all__ = [
    "ConvertContext",
    "Failure",
    "MergeContext",
    "RunEvents",
    "RunOptions",
    "RunReport",
    "ShardResult",
    "WorkItem",
    "convert_recording",
    "merge_shards",
    "run_local",
    "scan",
]
