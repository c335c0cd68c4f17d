"""Shared helpers of the coordination tests: a store harness over both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tikv_emulator import Emulator

from roboflow.coordination.sqlite import SqliteConfig, SqliteStore
from roboflow.coordination.store import StateStore
from roboflow.coordination.tikv import TikvConfig, TikvStore
from roboflow.resilience import CircuitBreaker

STORE_KINDS = ("sqlite", "tikv")


class OffsetClock:
    """The host clock plus an offset tests move forward."""

    def __init__(self) -> None:
        self.offset_s = 0.0
        self._mu = threading.Lock()

    def __call__(self) -> float:
        with self._mu:
            return time.time() + self.offset_s

    def advance_ms(self, ms: int) -> None:
        with self._mu:
            self.offset_s += ms / 1000


@dataclass
class Harness:
    """A store plus a way to move its clock forward (PD's TSO for TiKV, an offset for SQLite)."""

    kind: str
    store: StateStore
    advance_ms: Callable[[int], None]
    emulator: Emulator | None = None


def tikv_store(emulator: Emulator, **overrides: float) -> TikvStore:
    """A store on the emulator with its own breaker (ports get reused: the process-wide one may be stale)."""
    config = TikvConfig(**{"gc_interval_s": 0.0, "breaker_reset_s": 0.5, **overrides})  # type: ignore[arg-type]
    store = TikvStore([emulator.pd_address], config)
    store.breaker = CircuitBreaker(
        f"state:{store.url}", failure_threshold=config.breaker_failures, timeout=config.breaker_reset_s
    )
    return store


def make_harness(kind: str, tmp_path: Path, emulator: Emulator | None) -> Harness:
    if kind == "sqlite":
        clock = OffsetClock()
        store = SqliteStore(tmp_path / "state.db", SqliteConfig(busy_timeout_s=0.5), clock=clock)
        return Harness(kind, store, clock.advance_ms)
    assert emulator is not None
    return Harness(kind, tikv_store(emulator), emulator.clock.advance, emulator)
