"""Settings of a fleet node, from the environment (every node of a fleet must agree on them).

================================  =======  ======================================================
variable                          default  meaning
================================  =======  ======================================================
``ROBOFLOW_STATE_URL``            (*)      the state store (``tikv://pd:2379`` or ``sqlite:///path``)
``ROBOFLOW_STAGING_URL``          (**)     where shards wait for the merge (any storage URL)
``ROBOFLOW_LEASE_TTL_S``          30       a worker's lease; renewed every third of it
``ROBOFLOW_HEARTBEAT_TIMEOUT_S``  30       a worker silent this long (lease expired) is reaped
``ROBOFLOW_RECONCILE_INTERVAL_S`` 15       seconds between reconciler passes
``ROBOFLOW_REQUEUE_AFTER_S``      120      a Pending unit unclaimed this long, with the convert queue
                                           empty, has lost its message: send it again
``ROBOFLOW_MERGE_GRACE_S``        30       a batch whose units are all done this long without a merge
                                           has lost its chord callback: merge it
``ROBOFLOW_MERGE_LEASE_TTL_S``    60       the merge's lease; a merge silent this long is redone
================================  =======  ======================================================

(*) else ``tikv://$TIKV_PD_ENDPOINTS``, else a SQLite file (see :func:`roboflow.coordination.factory.state_url_from_env`).
(**) else ``<output>.staging`` beside the output, hidden (``.<name>.staging/<batch_id>``), pinned per batch at submit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from roboflow.coordination.factory import state_url_from_env
from roboflow.coordination.workers import CoordinationConfig
from roboflow.errors import ConfigError

__all__ = ["ENV_STAGING_URL", "FleetSettings"]

ENV_STAGING_URL = "ROBOFLOW_STAGING_URL"

#: field → environment variable of the timing settings.
_TIMINGS = {
    "lease_ttl_s": "ROBOFLOW_LEASE_TTL_S",
    "heartbeat_timeout_s": "ROBOFLOW_HEARTBEAT_TIMEOUT_S",
    "reconcile_interval_s": "ROBOFLOW_RECONCILE_INTERVAL_S",
    "requeue_after_s": "ROBOFLOW_REQUEUE_AFTER_S",
    "merge_grace_s": "ROBOFLOW_MERGE_GRACE_S",
    "merge_lease_ttl_s": "ROBOFLOW_MERGE_LEASE_TTL_S",
}


@dataclass(frozen=True, slots=True)
class FleetSettings:
    """What a node needs to take part in a fleet (see the module docstring for each field)."""

    state_url: str
    staging_url: str | None = None
    lease_ttl_s: float = 30.0
    heartbeat_timeout_s: float = 30.0
    reconcile_interval_s: float = 15.0
    requeue_after_s: float = 120.0
    merge_grace_s: float = 30.0
    merge_lease_ttl_s: float = 60.0

    @property
    def coordination(self) -> CoordinationConfig:
        return CoordinationConfig(lease_ttl_s=self.lease_ttl_s, heartbeat_timeout_s=self.heartbeat_timeout_s)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FleetSettings:
        """The settings in ``environ`` (default ``os.environ``).

        Raises:
            ConfigError: A timing variable is not a positive number.
        """
        env = os.environ if environ is None else environ
        timings = {}
        for name, variable in _TIMINGS.items():
            text = env.get(variable, "").strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = -1.0
            if not value > 0:
                raise ConfigError(f"{variable}={text!r} is not a positive number of seconds")
            timings[name] = value
        staging = env.get(ENV_STAGING_URL, "").strip() or None
        if environ is None:
            state_url = state_url_from_env()
        else:
            state_url = env.get("ROBOFLOW_STATE_URL", "").strip() or state_url_from_env()
        return cls(state_url=state_url, staging_url=staging, **timings)
