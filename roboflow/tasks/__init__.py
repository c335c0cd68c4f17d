"""Celery tasks: thin wrappers binding the fleet's logic (:mod:`roboflow.fleet`) to messages.

=========================  ========  ===========================================================
task                       queue     what it does
=========================  ========  ===========================================================
``roboflow.scan_batch``    scan      records the batch's units, sends the chord
``roboflow.convert_unit``  convert   claims one unit, converts it, stages its shard
``roboflow.merge_batch``   merge     merges the shards into the dataset (the chord's callback)
``roboflow.reconcile``     merge     one reconciler pass (``roboflow run`` also runs it on a timer)
=========================  ========  ===========================================================

Arguments are ids only (``batch_id``, ``unit_id``): no paths, URLs with credentials or configs travel
through the broker; workers read everything from the state store.
"""

from __future__ import annotations

from roboflow.tasks.dispatch import CeleryDispatcher
from roboflow.tasks.units import convert_unit, merge_batch, reconcile, scan_batch

__all__ = ["CeleryDispatcher", "convert_unit", "merge_batch", "reconcile", "scan_batch"]
