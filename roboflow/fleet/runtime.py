"""Per-process resources of a fleet node: the state store and this process's worker session.

Both are created on first use, so a Celery prefork child opens its own after the fork (the TiKV client must
never cross a fork). A session that stepped down (its lease was fenced or could not be renewed) is replaced
by a new incarnation with its own pod id, so the reaper can tell the two apart.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from roboflow.coordination import StateStore, WorkerSession, open_store
from roboflow.fleet.settings import FleetSettings

__all__ = ["Runtime", "runtime"]

log = logging.getLogger(__name__)


class Runtime:
    """The store and worker session of one process."""

    def __init__(self, settings: FleetSettings) -> None:
        self.settings = settings
        self.pid = os.getpid()
        self._store: StateStore | None = None
        self._session: WorkerSession | None = None
        self._incarnation = 0
        self._mu = threading.Lock()

    @property
    def store(self) -> StateStore:
        with self._mu:
            if self._store is None:
                self._store = open_store(self.settings.state_url)
            return self._store

    def session(self) -> WorkerSession:
        """This process's live worker session (started, or restarted after it stepped down)."""
        store = self.store
        with self._mu:
            if self._session is None or self._session.lost:
                self._incarnation += 1
                pod_id = f"{socket.gethostname()}-{self.pid}-{self._incarnation}"
                self._session = WorkerSession(store, pod_id, self.settings.coordination).start()
                log.info("worker session %s started", pod_id)
            return self._session

    def close(self) -> None:
        """Stop the session (its lease released, heartbeat Stopped) and close the store."""
        with self._mu:
            session, store = self._session, self._store
            self._session = self._store = None
        if session is not None:
            session.stop()
        if store is not None:
            store.close()


_RUNTIME: Runtime | None = None
_RUNTIME_MU = threading.Lock()


def runtime() -> Runtime:
    """This process's runtime, from the environment (a forked child gets a new one)."""
    global _RUNTIME
    with _RUNTIME_MU:
        if _RUNTIME is None or _RUNTIME.pid != os.getpid():
            _RUNTIME = Runtime(FleetSettings.from_env())
        return _RUNTIME
