"""The control plane: batch and unit state, worker leases and heartbeats, checkpoints, the reaper.

State lives in a :class:`StateStore` (TiKV for a fleet, SQLite for one machine) opened from a URL with
:func:`open_store`. Submodules: ``batches`` (batch phases), ``units`` (claims and unit transitions),
``workers`` (lease + heartbeat session), ``checkpoints``, ``reaper``, ``records`` and ``keys`` (layout).
"""

from __future__ import annotations

from roboflow.coordination.factory import open_store
from roboflow.coordination.reaper import Reaper
from roboflow.coordination.records import BatchPhase, UnitState
from roboflow.coordination.store import StateStore, Transaction, run_transaction
from roboflow.coordination.workers import CoordinationConfig, WorkerSession

__all__ = [
    "BatchPhase",
    "CoordinationConfig",
    "Reaper",
    "StateStore",
    "Transaction",
    "UnitState",
    "WorkerSession",
    "open_store",
    "run_transaction",
]
