"""Flower shows the fleet's tasks by name and ids; no credential reaches arguments, results, state or logs."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .conftest import MakeFleet
from .harness import free_port, wait_for
from .readback import Recordings

SECRET = "aws-secret-Never-Show-4d2c"
AUTH = "Basic " + base64.b64encode(b"ops:flower-pass").decode()


def _get(url: str, auth: str | None = AUTH) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read().decode()
    return json.loads(body) if body.startswith(("{", "[")) else body


def test_flower_lists_tasks_by_batch_and_recording_without_secrets(
    make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings, tmp_path: Path
) -> None:
    fleet = make_fleet(sqlite_url, AWS_ACCESS_KEY_ID="AKIAFLOWERTEST000001", AWS_SECRET_ACCESS_KEY=SECRET)
    port = free_port()
    flower_log = (fleet.logs / "flower.log").open("wb")
    flower = subprocess.Popen(["celery", "-A", "roboflow", "flower", f"--port={port}", "--address=127.0.0.1",
                               "--basic-auth=ops:flower-pass"], env=fleet.env, cwd=fleet.workdir,
                              stdout=flower_log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return _get(f"{base}/healthcheck", auth=None) == "OK"
            except (OSError, urllib.error.URLError):
                return False

        wait_for(up, 60, "flower to answer")
        fleet.node()
        done = fleet.submit(str(recordings.directory), "-c", str(recordings.config), "-o", str(tmp_path / "out"),
                            "--batch-id", "flowerbatch", "--wait", "--no-progress")
        assert done.returncode == 0, done.stderr + fleet.log_tail()

        def converted() -> dict[str, Any] | None:
            tasks = _get(f"{base}/api/tasks?taskname=roboflow.convert_unit&state=SUCCESS")
            return tasks if len(tasks) >= 6 else None

        tasks = wait_for(converted, 30, "flower to see the six conversions", every=0.5)
        arguments = sorted(task["args"] for task in tasks.values())
        assert all("flowerbatch" in args for args in arguments)
        units = {Path(p).name for p in recordings.specs}
        assert {args.split("'")[3].rsplit("-", 1)[0] for args in arguments} == units
        names = {task["name"] for task in _get(f"{base}/api/tasks").values()}
        assert {"roboflow.scan_batch", "roboflow.convert_unit", "roboflow.merge_batch"} <= names
        try:
            _get(f"{base}/api/tasks", auth=None)
            raise AssertionError("flower answered without credentials")
        except urllib.error.HTTPError as err:
            assert err.code == 401
        assert "flower_events_total" in _get(f"{base}/metrics", auth=None)
        shown = json.dumps(_get(f"{base}/api/tasks"))
    finally:
        flower.terminate()
        flower.wait(10)
    state = "\n".join(str(row) for row in sqlite3.connect(sqlite_url[len("sqlite://"):]).execute("select * from kv"))
    logs = "".join(path.read_text(errors="replace") for path in fleet.logs.glob("*.log"))
    for text in (shown, state, logs):
        assert SECRET not in text and "AKIAFLOWERTEST000001" not in text
