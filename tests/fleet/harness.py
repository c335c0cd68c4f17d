"""Real fleets for the tests: a redis-server on a free port, `roboflow run` nodes, `roboflow submit`.

Every process is real: the nodes are `roboflow run` process groups (a Celery worker with its prefork
children, plus the reconciler) that tests kill with SIGKILL; Redis runs without persistence, so killing it
loses every message.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

#: Timings that make faults visible in seconds, not minutes.
FAST_TIMINGS = {
    "ROBOFLOW_LEASE_TTL_S": "3",
    "ROBOFLOW_HEARTBEAT_TIMEOUT_S": "3",
    "ROBOFLOW_RECONCILE_INTERVAL_S": "0.5",
    "ROBOFLOW_REQUEUE_AFTER_S": "3",
    "ROBOFLOW_MERGE_GRACE_S": "2",
    "ROBOFLOW_MERGE_LEASE_TTL_S": "3",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class RedisServer:
    """A private redis-server (no persistence) that tests can kill and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxmemory-policy", "noeviction", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, "redis-server to answer")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class Fleet:
    """Nodes and submits sharing one broker and one state store; logs under ``workdir/logs``."""

    def __init__(self, workdir: Path, broker: RedisServer, state_url: str, **env: str) -> None:
        self.workdir = workdir
        self.broker = broker
        self.state_url = state_url
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **FAST_TIMINGS, "ROBOFLOW_BROKER_URL": broker.url,
                    "ROBOFLOW_STATE_URL": state_url, "PYTHONUNBUFFERED": "1", **env}
        self.nodes: list[subprocess.Popen[bytes]] = []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "roboflow", *args]

    def node(self, *args: str, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """Start `roboflow run` (its own process group, so a kill takes its worker children too)."""
        log = (self.logs / f"node-{len(self.nodes)}.log").open("wb")
        process = subprocess.Popen(self.command("run", "--concurrency", str(concurrency), *args), env=self.env,
                                   cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(process)
        return process

    def kill(self, node: subprocess.Popen[bytes]) -> None:
        """SIGKILL the node's whole process group: worker, its children and the reconciler die at once."""
        try:
            os.killpg(node.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.wait()

    def submit(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command("submit", *args), check=False, env=self.env, cwd=self.workdir, capture_output=True,
                              text=True, timeout=timeout)

    def submit_async(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command("submit", *args), env=self.env, cwd=self.workdir,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), check=False, env=self.env, cwd=self.workdir, capture_output=True, text=True,
                              timeout=60)

    def node_of(self, pid: int) -> subprocess.Popen[bytes] | None:
        """The node whose process group holds ``pid`` (a worker child named in a unit's owner)."""
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((node for node in self.nodes if node.pid == group and node.poll() is None), None)

    def stop(self) -> None:
        for node in self.nodes:
            if node.poll() is None:
                self.kill(node)

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"== {path.name}\n" + "\n".join(text))
        return "\n".join(parts)
