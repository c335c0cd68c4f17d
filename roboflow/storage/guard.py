"""Every request a remote backend makes goes through a :class:`CallGuard`.

The guard retries transient failures with backoff (:func:`roboflow.resilience.retry_call`), counts them
against the endpoint's circuit breaker, and converts what is left into the roboflow error tree at the
backend boundary, with every known secret removed from the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from roboflow.errors import CircuitOpenError, RoboflowError
from roboflow.resilience import CircuitBreaker, RetryPolicy, breaker_for, retry_call
from roboflow.storage.base import StorageOptions

__all__ = ["CallGuard", "ShortRead"]

T = TypeVar("T")

logger = logging.getLogger(__name__)


class ShortRead(Exception):
    """A response body ended before the announced length; the request is retried."""


@dataclass(frozen=True, slots=True)
class CallGuard:
    """Retry, circuit-break and convert the calls of one backend endpoint.

    Attributes:
        breaker: The endpoint's breaker (see :func:`roboflow.resilience.breaker_for`).
        policy: Backoff between retries of one request.
        is_transient: Whether a library exception is worth retrying.
        convert: Turns a library exception into a roboflow error, given the operation and the URL.
        secrets: Strings that must never appear in a message (access keys, tokens).
    """

    breaker: CircuitBreaker
    policy: RetryPolicy
    is_transient: Callable[[BaseException], bool]
    convert: Callable[[BaseException, str, str], RoboflowError]
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def for_endpoint(
        cls,
        name: str,
        options: StorageOptions,
        *,
        is_transient: Callable[[BaseException], bool],
        convert: Callable[[BaseException, str, str], RoboflowError],
        secrets: tuple[str, ...] = (),
    ) -> CallGuard:
        """The guard of endpoint ``name`` (e.g. ``s3:http://127.0.0.1:9000``) with ``options``' retries."""
        breaker = breaker_for(
            name, failure_threshold=options.breaker_failures, timeout=options.breaker_timeout
        )
        policy = RetryPolicy(
            max_retries=options.retries,
            base_delay=options.retry_base_delay,
            max_delay=options.retry_max_delay,
        )
        return cls(breaker, policy, is_transient, convert, tuple(s for s in secrets if s))

    def call(self, operation: str, url: str, func: Callable[[], T]) -> T:
        """Run ``func`` (one request, body read included) under retry and breaker.

        Args:
            operation: What the request does, for messages (``GET range``, ``PUT``...).
            url: The object or prefix URL, for messages.
            func: The request.

        Raises:
            StorageError: A permanent failure (no retry).
            TransientStorageError: A transient failure that outlived its retries.
            CircuitOpenError: The endpoint's breaker is open.
        """
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            try:
                return func()
            except Exception as err:
                if self.is_transient(err):
                    logger.warning(
                        "%s %s: transient %s on attempt %d",
                        operation,
                        url,
                        self.redact(_brief(err)),
                        attempts,
                    )
                raise

        try:
            return retry_call(
                attempt, is_transient=self.is_transient, policy=self.policy, breaker=self.breaker
            )
        except CircuitOpenError as err:
            raise CircuitOpenError(f"{operation}: {err.message}", path=url, hint=err.hint) from None
        except RoboflowError:
            raise
        except Exception as err:
            error = self.convert(err, operation, url)
            message = (
                f"{error.message} after {attempts} attempts" if self.is_transient(err) else error.message
            )
            hint = self.redact(error.hint) if error.hint else None
            raise type(error)(self.redact(message), path=error.path, hint=hint) from err

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def _brief(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}"[:300] if text else type(err).__name__
