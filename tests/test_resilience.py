"""Retry policy and circuit breaker."""

from __future__ import annotations

import pytest

from roboflow.errors import CircuitOpenError
from roboflow.resilience import CircuitBreaker, CircuitState, RetryPolicy, retry_call


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Flaky(Exception):
    pass


def test_retry_recovers_after_transient_failures() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def func() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Flaky()
        return "ok"

    policy = RetryPolicy(max_retries=3, base_delay=1.0, jitter=0.0)
    result = retry_call(func, is_transient=lambda e: isinstance(e, Flaky), policy=policy, sleep=sleeps.append)
    assert result == "ok"
    assert len(calls) == 3
    assert sleeps == [1.0, 2.0]


def test_retry_gives_up_after_max_retries() -> None:
    calls: list[int] = []

    def func() -> None:
        calls.append(1)
        raise Flaky()

    with pytest.raises(Flaky):
        retry_call(func, is_transient=lambda e: True, policy=RetryPolicy(max_retries=2), sleep=lambda s: None)
    assert len(calls) == 3


def test_permanent_errors_are_not_retried() -> None:
    calls: list[int] = []

    def func() -> None:
        calls.append(1)
        raise KeyError("nope")

    with pytest.raises(KeyError):
        retry_call(func, is_transient=lambda e: isinstance(e, Flaky), sleep=lambda s: None)
    assert len(calls) == 1


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delay = policy.delay(attempt)
        assert ceiling * 0.5 <= delay <= ceiling


def test_breaker_opens_fails_fast_half_opens_and_recovers() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("s3:test", failure_threshold=2, success_threshold=2, timeout=10.0, clock=clock)
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError, match="s3:test"):
        breaker.before_call()
    clock.now = 10.0
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.now = 20.0
    breaker.record_success()
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED


def test_open_breaker_stops_retries_without_calling() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("tikv:test", failure_threshold=2, timeout=30.0, clock=clock)
    calls: list[int] = []

    def func() -> None:
        calls.append(1)
        raise Flaky()

    with pytest.raises(CircuitOpenError):
        retry_call(func, is_transient=lambda e: True, policy=RetryPolicy(max_retries=5), breaker=breaker,
                   sleep=lambda s: None)
    assert len(calls) == 2
