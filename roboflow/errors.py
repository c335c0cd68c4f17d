"""The one error tree of roboflow.

Two families matter to every caller:

* :class:`UserError` and its subclasses describe a problem the user can fix (a corrupt file, a missing
  topic, a bad config). They are never retried; the CLI prints them as one line and exits with status 2.
* :class:`InfrastructureError` and its subclasses describe a problem of the environment (a network
  blip, an S3 5xx, TiKV unavailable). They are retried with backoff and counted by circuit breakers.

Messages must never contain credentials.
"""

from __future__ import annotations

__all__ = [
    "CircuitOpenError",
    "ConfigError",
    "DatasetError",
    "InfrastructureError",
    "ResourceError",
    "RoboflowError",
    "SourceError",
    "StateError",
    "StorageError",
    "TransientStorageError",
    "UserError",
    "one_line",
]

_LINE_LIMIT = 300


def one_line(text: object, limit: int = _LINE_LIMIT) -> str:
    """``text`` (often a library's exception) as one line of at most ``limit`` characters.

    Library messages may span lines (PyYAML's marks, a dumped message definition); errors and warnings
    of roboflow are one line each, so whitespace runs become one space and a long text is cut with "...".
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class RoboflowError(Exception):
    """Base of every error roboflow raises on purpose.

    Args:
        message: What went wrong, in words a user can act on.
        path: The file, object URL or key the error is about, if any.
        hint: How to fix it, if known.
    """

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} ({self.hint})" if self.hint else text


class UserError(RoboflowError):
    """A problem with the input or the configuration; retrying does not help."""


class InfrastructureError(RoboflowError):
    """A problem of the environment (network, object store, state store); retrying may help."""


class ConfigError(UserError):
    """The configuration file or a command-line option is invalid."""


class SourceError(UserError):
    """A recording cannot be read or decoded."""


class DatasetError(UserError):
    """A dataset cannot be written, merged or validated as asked."""


class StorageError(UserError):
    """A permanent storage failure: missing object, access denied, bad bucket, bad key."""


class TransientStorageError(InfrastructureError):
    """A storage failure that may go away: connection reset, timeout, 5xx, throttling."""


class StateError(InfrastructureError):
    """The state store failed or refused an operation."""


class CircuitOpenError(InfrastructureError):
    """A circuit breaker is open: the service behind it failed repeatedly and is not called for now."""


class ResourceError(InfrastructureError):
    """The machine refused the work: no space left, a file past the file size limit, permission denied or a
    read-only file system where the run writes, or a store whose circuit breaker stayed open. Not a problem of
    any recording: the run stops at once (exit status 1) and keeps what it staged, so the same command resumes
    once the cause is fixed."""
