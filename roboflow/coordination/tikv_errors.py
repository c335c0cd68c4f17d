"""Classifying ``tikv-client`` errors: every error of the 0.0.4 wheel is a plain ``Exception(str)``.

The text is all there is, so it is matched against marks taken from client-rust b12f95e's messages:
write conflicts, unresolved locks and locks of rolled-back transactions are conflicts (re-run the
transaction); connection, deadline, region and PD failures and undetermined commits are unavailability.
"""

from __future__ import annotations

import concurrent.futures
import re

from roboflow.coordination.errors import ConflictError, StoreUnavailableError
from roboflow.errors import StateError

__all__ = ["classify_error"]

_CONFLICT_MARKS = (
    "WriteConflict {",
    "TxnLockNotFound",
    "Failed to resolve lock",
    "Some(AlreadyExist",
    "Some(Deadlock",
    "PessimisticLockRolledBack",
    "PessimisticLockNotFound",
)
_UNAVAILABLE_MARKS = (
    "undetermined",
    "DEADLINE_EXCEEDED",
    "Deadline",
    "deadline",
    "gRPC",
    "transport error",
    "Unavailable",
    "UNAVAILABLE",
    "Connection refused",
    "channel is closed",
    "Region error",
    "Leader of region",
    "timed out",
    "panicked",
    "failed to respond",
    "/src/pd/",  # the client's internal errors about PD (connection, leader, retries exhausted)
    "/src/store/",
    "commit could not be verified",
)
_SOURCE_PREFIX = re.compile(r"\[[^\]]*\.rs:\d+\]: ")


def _short(text: str) -> str:
    """The client's message without its source path prefix and gRPC metadata, at most 300 characters."""
    text = _SOURCE_PREFIX.sub("", text).split(", details:")[0]
    return text[:300]


def classify_error(err: BaseException, url: str) -> StateError:
    """Turn a ``tikv-client`` error (its text is all there is) into the coordination error tree."""
    text = str(err) or type(err).__name__
    if any(mark in text for mark in _CONFLICT_MARKS):
        return ConflictError(f"transaction conflict: {_short(text)}", path=url)
    if (
        any(mark in text for mark in _UNAVAILABLE_MARKS)
        or isinstance(err, concurrent.futures.TimeoutError)
        or type(err).__name__ == "PanicException"
    ):
        return StoreUnavailableError(f"TiKV unavailable: {_short(text)}", path=url, hint="check PD and TiKV")
    return StateError(f"TiKV failed: {_short(text)}", path=url)
