"""How the fleet's logic sends work: the one interface :mod:`roboflow.tasks` implements with Celery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["Dispatcher"]


class Dispatcher(Protocol):
    """Sends messages to the fleet's queues. Every message may be lost; the reconciler sends it again."""

    def scan(self, batch_id: str) -> None:
        """Ask a scanner to record the batch's units."""

    def start(self, batch_id: str, unit_ids: Sequence[str]) -> None:
        """Convert every unit, then merge the batch (a chord: the fast path)."""

    def convert(self, batch_id: str, unit_ids: Sequence[str]) -> None:
        """Convert these units (messages of their own, outside any chord)."""

    def merge(self, batch_id: str) -> None:
        """Merge the batch."""

    def convert_backlog(self) -> int | None:
        """Messages waiting in the convert queue, or None if the broker cannot tell."""
