"""Faults the emulator can inject: delays, gRPC unavailability, region errors.

Refusing connections altogether is :meth:`Emulator.stop_serving` (the servers go away, the data stays).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from .pd import REGION_ID, PdService
from .proto import pb

__all__ = ["REGION_ERROR_KINDS", "Faults"]

#: Region errors the client retries (after refreshing its region cache) and the one it gives up on.
REGION_ERROR_KINDS = (
    "not_leader",
    "region_not_found",
    "epoch_not_match",
    "stale_command",
    "store_not_match",
    "server_is_busy",
)


def region_error(kind: str) -> Any:
    """An ``errorpb.Error`` of the given kind about the emulator's only region."""
    region = PdService.region()
    details: dict[str, Any] = {
        "not_leader": {"not_leader": pb.NotLeader(region_id=REGION_ID, leader=region.peers[0])},
        "region_not_found": {"region_not_found": pb.RegionNotFound(region_id=REGION_ID)},
        "epoch_not_match": {"epoch_not_match": pb.EpochNotMatch(current_regions=[region])},
        "stale_command": {"stale_command": pb.StaleCommand()},
        "store_not_match": {"store_not_match": pb.StoreNotMatch(request_store_id=1, actual_store_id=1)},
        "server_is_busy": {"server_is_busy": pb.ServerIsBusy(reason="injected", backoff_ms=10)},
    }[kind]
    return pb.RegionError(message=f"emulator: injected {kind}", **details)


@dataclass(frozen=True, slots=True)
class _Selector:
    methods: frozenset[str] | None  # None: every method

    def matches(self, method: str) -> bool:
        return self.methods is None or method in self.methods


def _selector(methods: Iterable[str] | None) -> _Selector:
    return _Selector(None if methods is None else frozenset(methods))


class Faults:
    """Thread-safe fault switches consulted before every call (PD and TiKV alike)."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._delay: tuple[float, _Selector] | None = None
        self._unavailable: _Selector | None = None
        self._unavailable_left: int | None = None  # None: until switched off
        self._region: list[Any] = []  # [kind, remaining, selector]

    def delay(self, seconds: float, methods: Iterable[str] | None = None) -> None:
        """Sleep ``seconds`` before answering (a value above the client's 2 s timeout makes it time out)."""
        with self._mu:
            self._delay = (seconds, _selector(methods)) if seconds > 0 else None

    def unavailable(
        self, on: bool = True, methods: Iterable[str] | None = None, count: int | None = None
    ) -> None:
        """Answer matching calls with gRPC status UNAVAILABLE (the next ``count`` only, if given)."""
        with self._mu:
            self._unavailable = _selector(methods) if on else None
            self._unavailable_left = count

    def region_errors(self, kind: str, count: int = 1, methods: Iterable[str] | None = None) -> None:
        """Answer the next ``count`` matching TiKV calls with a region error of ``kind``."""
        if kind not in REGION_ERROR_KINDS:
            raise ValueError(f"unknown region error {kind!r}; known: {', '.join(REGION_ERROR_KINDS)}")
        with self._mu:
            self._region = [kind, count, _selector(methods)]

    def clear(self) -> None:
        with self._mu:
            self._delay, self._unavailable, self._region = None, None, []
            self._unavailable_left = None

    def before(self, method: str, context: grpc.ServicerContext, *, regional: bool) -> Any | None:
        """Apply the faults for one call; returns a region error to answer with, if one is due."""
        with self._mu:
            delay = self._delay[0] if self._delay and self._delay[1].matches(method) else 0.0
            unavailable = self._unavailable is not None and self._unavailable.matches(method)
            if unavailable and self._unavailable_left is not None:
                self._unavailable_left -= 1
                if self._unavailable_left <= 0:
                    self._unavailable = None
            kind = None
            if regional and self._region and self._region[1] > 0 and self._region[2].matches(method):
                self._region[1] -= 1
                kind = self._region[0]
        if delay:
            time.sleep(delay)
        if unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "emulator: injected unavailability")
        return region_error(kind) if kind else None
