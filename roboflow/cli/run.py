"""``roboflow run [--role worker|finalizer|scanner|all]``: start a fleet node (see docs/fleet.md)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading

import click

__all__ = ["run"]

log = logging.getLogger(__name__)

_QUEUES = {"worker": "scan,convert,merge", "scanner": "scan"}


@click.command("run")
@click.option("--role", type=click.Choice(["all", "worker", "finalizer", "scanner"]), default="all", show_default=True,
              help="worker: convert, merge and scan tasks; scanner: scan tasks only; finalizer: the reconciler; "
                   "all: a worker on every queue plus the reconciler.")
@click.option("-c", "--concurrency", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of CPUs).")
@click.option("-Q", "--queues", default=None, help="Queues a worker serves (default: scan,convert,merge).")
@click.option("--loglevel", default="INFO", show_default=True, help="Worker log level.")
def run(role: str, concurrency: int | None, queues: str | None, loglevel: str) -> int:
    """Run a node of the fleet until it is stopped (SIGTERM or Ctrl-C finishes the tasks in flight).

    The broker comes from ROBOFLOW_BROKER_URL, the state store from ROBOFLOW_STATE_URL (or
    TIKV_PD_ENDPOINTS); every node of a fleet must use the same ones. `celery -A roboflow worker` works
    too; `run` adds the reconciler, which finishes batches whose messages were lost.
    """
    if role == "finalizer":
        return _reconcile_forever()
    if role in ("worker", "scanner"):
        return _worker(queues or _QUEUES[role], concurrency, loglevel)
    command = [sys.executable, "-m", "roboflow", "run", "--role", "worker", "--loglevel", loglevel]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    if queues:
        command += ["--queues", queues]
    child = subprocess.Popen(command)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        reconciler = threading.Thread(target=_reconcile_forever, args=(stop,), name="reconciler", daemon=True)
        reconciler.start()
        while not stop.is_set() and child.poll() is None:
            stop.wait(0.5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
        code = child.wait()
    return 0 if stop.is_set() else code


def _worker(queues: str, concurrency: int | None, loglevel: str) -> int:
    from roboflow.celery import app

    argv = ["worker", "-Q", queues, "-n", f"roboflow-{os.getpid()}@%h", "--loglevel", loglevel]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)
    return 0


def _reconcile_forever(stop: threading.Event | None = None) -> int:
    """Run reconciler passes every ``ROBOFLOW_RECONCILE_INTERVAL_S`` until ``stop`` (or a signal)."""
    from roboflow.fleet.reconciler import Reconciler
    from roboflow.fleet.runtime import runtime
    from roboflow.tasks import CeleryDispatcher

    if stop is None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    rt = runtime()
    reconciler = Reconciler(rt.store, CeleryDispatcher(), rt.settings)
    log.info("reconciler %s: a pass every %.1f s", reconciler.owner, rt.settings.reconcile_interval_s)
    while not stop.is_set():
        try:
            report = reconciler.run_once()
            if report.reclaimed or report.merges or report.resent or report.scans:
                log.warning("reconciler: %s", report)
        except Exception as err:  # noqa: BLE001 - a failed pass (store or broker away) is tried again next time
            log.warning("reconciler pass failed: %s", err)
        stop.wait(rt.settings.reconcile_interval_s)
    rt.close()
    return 0
