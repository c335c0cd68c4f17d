"""Errors of the coordination layer, all under :class:`roboflow.errors.StateError` but one.

``ConflictError`` and ``StoreUnavailableError`` are what :func:`~.store.run_transaction` retries (the
first without counting against the circuit breaker). The others are answers, not failures: retrying the
same call gives the same answer.
"""

from __future__ import annotations

from roboflow.errors import StateError, UserError

__all__ = [
    "ConflictError",
    "IllegalTransitionError",
    "InvalidIdError",
    "LeaseHeldError",
    "LeaseLostError",
    "RecordNotFoundError",
    "StoreUnavailableError",
]


class ConflictError(StateError):
    """A transaction lost a race with another one (write conflict, lock wait); re-running it may succeed."""


class StoreUnavailableError(StateError):
    """The state store cannot be reached or did not answer in time (connection refused, timeout, breaker open)."""


class IllegalTransitionError(StateError):
    """A batch or unit is not in a state from which the requested transition is allowed.

    Attributes:
        current: The state found (an enum member), so a caller can tell "already done" from "gone wrong".
    """

    def __init__(self, message: str, *, current: object = None, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.current = current


class LeaseLostError(StateError):
    """This process no longer holds the lease it acts under (expired, fenced, taken over): stop working."""


class LeaseHeldError(StateError):
    """Another live owner holds the lease."""


class RecordNotFoundError(StateError):
    """The batch, unit or worker record does not exist."""


class InvalidIdError(UserError):
    """A batch, unit or worker id cannot be used in a key (empty, too long, or containing ``/``)."""
