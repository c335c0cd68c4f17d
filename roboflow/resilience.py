"""Retry with exponential backoff and jitter, and circuit breakers.

Used by the storage backends and the state stores: only errors classified as transient are retried;
every call goes through the breaker of its endpoint so a service that is down fails fast instead of
making every caller wait out its full retry budget.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from roboflow.errors import CircuitOpenError

__all__ = ["CircuitBreaker", "CircuitState", "RetryPolicy", "breaker_for", "breaker_states", "retry_call"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    The delay before retry ``n`` (1-based) is ``min(max_delay, base_delay * 2**(n-1))`` scaled by a random
    factor in ``[1 - jitter, 1]`` ("full jitter" would make tests slow and flaky; a band keeps spread).
    """

    max_retries: int = 3
    base_delay: float = 0.2
    max_delay: float = 10.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        """Seconds to sleep before retry number ``attempt`` (1-based)."""
        raw = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return raw * (1.0 - self.jitter * random.random())


class CircuitState(enum.Enum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → Open after ``failure_threshold`` consecutive failures; Open → HalfOpen after ``timeout``
    seconds; HalfOpen → Closed after ``success_threshold`` successes, back to Open on any failure.

    Thread-safe. Only failures the caller reports count: user errors (404, bad key) must not be reported.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        success_threshold: int = 1,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.success_threshold = success_threshold
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._successes = 0
        self._opened_at = 0.0

    @property
    def state(self) -> CircuitState:
        """The current state, moving Open → HalfOpen when the timeout has passed."""
        with self._lock:
            return self._current_state()

    def _current_state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._clock() - self._opened_at >= self.timeout:
            self._state = CircuitState.HALF_OPEN
            self._successes = 0
        return self._state

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` while the breaker is open."""
        with self._lock:
            if self._current_state() is CircuitState.OPEN:
                remaining = self.timeout - (self._clock() - self._opened_at)
                raise CircuitOpenError(
                    f"circuit breaker for {self.name} is open after {self._failures} consecutive failures",
                    hint=f"the service is failing; next probe in {max(remaining, 0.0):.0f} s",
                )

    def record_success(self) -> None:
        """Count a successful call."""
        with self._lock:
            state = self._current_state()
            if state is CircuitState.HALF_OPEN:
                self._successes += 1
                if self._successes >= self.success_threshold:
                    self._state = CircuitState.CLOSED
                    self._failures = 0
            else:
                self._failures = 0

    def record_failure(self) -> None:
        """Count a failed call (infrastructure failures only)."""
        with self._lock:
            state = self._current_state()
            self._failures += 1
            if state is CircuitState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = CircuitState.OPEN
                self._opened_at = self._clock()

    def snapshot(self) -> dict[str, object]:
        """A JSON-able view for ``roboflow health``."""
        with self._lock:
            return {"name": self.name, "state": self._current_state().value, "failures": self._failures}


_BREAKERS: dict[str, CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(name: str, **settings: float) -> CircuitBreaker:
    """The process-wide breaker for an endpoint (e.g. ``s3:http://127.0.0.1:9000``), created on first use."""
    with _BREAKERS_LOCK:
        breaker = _BREAKERS.get(name)
        if breaker is None:
            breaker = CircuitBreaker(name, **settings)  # type: ignore[arg-type]
            _BREAKERS[name] = breaker
        return breaker


def breaker_states() -> list[dict[str, object]]:
    """Snapshots of every breaker of this process."""
    with _BREAKERS_LOCK:
        breakers = list(_BREAKERS.values())
    return [b.snapshot() for b in breakers]


def retry_call(
    func: Callable[[], T],
    *,
    is_transient: Callable[[BaseException], bool],
    policy: RetryPolicy = RetryPolicy(),
    breaker: CircuitBreaker | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``func``, retrying transient failures with backoff, through ``breaker`` if given.

    Non-transient errors propagate at once and do not count against the breaker. After the last retry
    the transient error propagates; callers convert it to their own error type at their boundary.
    """
    attempt = 0
    while True:
        if breaker is not None:
            breaker.before_call()
        try:
            result = func()
        except BaseException as err:
            if not is_transient(err):
                if breaker is not None:
                    breaker.record_success()  # the service answered; the request was wrong
                raise
            if breaker is not None:
                breaker.record_failure()
            attempt += 1
            if attempt > policy.max_retries:
                raise
            sleep(policy.delay(attempt))
            continue
        if breaker is not None:
            breaker.record_success()
        return result
