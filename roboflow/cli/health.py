"""``roboflow health [--json]``: can this node reach the broker, the state store and staging storage?"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click

__all__ = ["health"]


def _check(probe: Callable[[], str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail, ok = probe(), True
    except Exception as err:  # noqa: BLE001 - any failure is the answer
        detail, ok = f"{type(err).__name__}: {err}", False
    return {"ok": ok, "detail": detail, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _broker() -> str:
    from roboflow.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=3)
        return str(connection.as_uri())  # the password masked


def _state_store() -> str:
    from roboflow.cli.fleet_output import open_fleet_store
    from roboflow.coordination.keys import RECONCILER_KEY
    from roboflow.coordination.store import run_transaction

    store = open_fleet_store()  # closed when the command ends
    run_transaction(store, lambda txn: txn.get(RECONCILER_KEY), readonly=True)
    return store.url


def _staging(url: str) -> Callable[[], str]:
    def probe() -> str:
        from roboflow.storage import open_storage

        next(iter(open_storage(url).list()), None)
        return url

    return probe


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def health(as_json: bool) -> int:
    """Check the broker, the state store, staging storage (ROBOFLOW_STAGING_URL, if set) and circuit breakers.

    Exit status 0 when every check passes, 1 otherwise. No credential is printed.
    """
    from roboflow.fleet.settings import FleetSettings
    from roboflow.resilience import breaker_states

    settings = FleetSettings.from_env()
    checks = {"broker": _check(_broker), "state_store": _check(_state_store)}
    if settings.staging_url:
        checks["staging"] = _check(_staging(settings.staging_url))
    breakers = breaker_states()
    healthy = all(c["ok"] for c in checks.values()) and all(b.get("state") != "open" for b in breakers)
    if as_json:
        click.echo(json.dumps({"healthy": healthy, "checks": checks, "breakers": breakers}, indent=2, default=str))
    else:
        for name, result in checks.items():
            mark = "ok  " if result["ok"] else "FAIL"
            click.echo(f"{mark} {name:<12} {result['latency_ms']:>7.1f} ms  {result['detail']}")
        for breaker in breakers:
            click.echo(f"     breaker {breaker.get('name')}: {breaker.get('state')}")
        click.echo("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1
