"""The Celery app: its queues and routes, and that it works from a plain (non-editable) install anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_without_queues_serves_every_roboflow_queue() -> None:
    from roboflow.celery import app

    assert [q.name for q in app.conf.task_queues] == ["scan", "convert", "merge"]
    assert {q.name: q.routing_key for q in app.conf.task_queues} == {"scan": "scan", "convert": "convert",
                                                                     "merge": "merge"}
    routes = {name: route["queue"] for name, route in app.conf.task_routes.items()}
    assert routes == {"roboflow.scan_batch": "scan", "roboflow.convert_unit": "convert",
                      "roboflow.merge_batch": "merge", "roboflow.reconcile": "merge"}
    assert {"roboflow.scan_batch", "roboflow.convert_unit", "roboflow.merge_batch", "roboflow.reconcile"} <= set(
        app.tasks)
    assert app.conf.task_acks_late and app.conf.worker_prefetch_multiplier == 1
    assert app.conf.accept_content == ["json"]


def test_the_app_works_from_a_plain_install_in_any_directory(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    probe = ("import json, roboflow.celery as c; "
             "print(json.dumps([c.app.conf.broker_url, sorted(t for t in c.app.tasks if t.startswith('roboflow')), "
             "c.app.conf.worker_max_memory_per_child, c.__file__]))")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=elsewhere, check=False,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin",
                               "ROBOFLOW_BROKER_URL": "redis://broker.example:6379/0"})
    assert done.returncode == 0, done.stderr
    broker, tasks, max_memory, module = json.loads(done.stdout)
    assert module.startswith(str(target))
    assert broker == "redis://broker.example:6379/0"
    assert tasks == ["roboflow.convert_unit", "roboflow.merge_batch", "roboflow.reconcile", "roboflow.scan_batch"]
    assert max_memory is None  # the repository's celeryconfig.py is not there: package defaults only

    (elsewhere / "celeryconfig.py").write_text("worker_max_memory_per_child = 1234\n")
    overridden = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=elsewhere,
                                check=False, env={"PYTHONPATH": f"{target}:{elsewhere}", "PATH": "/usr/bin:/bin"})
    assert overridden.returncode == 0, overridden.stderr
    assert json.loads(overridden.stdout)[2] == 1234
