"""The fleet commands against a real state store and broker (no workers): listings, errors, health."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .conftest import MakeFleet
from .readback import Recordings


def test_submit_records_the_batch_and_listings_show_it(make_fleet: MakeFleet, sqlite_url: str,
                                                       recordings: Recordings, tmp_path: Path) -> None:
    fleet = make_fleet(sqlite_url)
    done = fleet.submit(str(recordings.directory), "-c", str(recordings.config), "-o", str(tmp_path / "out"),
                        "--batch-id", "listed", "--strict", "--max-attempts", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "listed\n"
    assert fleet.broker.client().llen("scan") == 1  # the scan message waits for a scanner

    status = json.loads(fleet.cli("batch", "status", "listed", "--json").stdout)
    assert status["phase"] == "pending" and status["total"] == 0 and status["output"] == str(tmp_path / "out")
    rows = list(csv.DictReader(io.StringIO(fleet.cli("batch", "list", "--csv").stdout)))
    assert [(r["batch_id"], r["phase"]) for r in rows] == [("listed", "pending")]
    assert fleet.cli("batch", "list", "--phase", "running", "--json").stdout.strip() == "[]"

    again = fleet.submit(str(recordings.directory), "-c", str(recordings.config), "-o", str(tmp_path / "other"),
                         "--batch-id", "listed")
    assert again.returncode == 2 and "exists already with other inputs" in again.stderr
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr

    cancelled = fleet.cli("batch", "cancel", "listed")
    assert cancelled.returncode == 0
    assert json.loads(fleet.cli("batch", "status", "listed", "--json").stdout)["phase"] == "cancelled"


def test_submit_refuses_bad_input_in_one_line(make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings,
                                              tmp_path: Path) -> None:
    fleet = make_fleet(sqlite_url)
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[dataset]\nfps = 30\n")
    cases = [
        (["x.mcap", "-c", str(bad_config), "-o", str(tmp_path / "o")], str(bad_config)),
        ([str(recordings.directory), "-c", str(recordings.config), "-o", "ftp://host/x"], "unknown storage scheme"),
        ([str(recordings.directory), "-c", str(recordings.config), "-o", str(recordings.reference)],
         "exists already"),
    ]
    for args, expected in cases:
        done = fleet.submit(*args)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_dry_run_lists_the_units_without_submitting(make_fleet: MakeFleet, sqlite_url: str,
                                                    recordings: Recordings, tmp_path: Path) -> None:
    fleet = make_fleet(sqlite_url)
    done = fleet.submit(str(recordings.directory), "-c", str(recordings.config), "-o", str(tmp_path / "o"),
                        "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert [Path(source).name for _, _, source in lines] == sorted(Path(p).name for p in recordings.specs)
    assert all(int(size) == Path(source).stat().st_size for _, size, source in lines)
    assert fleet.cli("batch", "list", "--json").stdout.strip() == "[]"


def test_health_reports_each_dependency_and_fails_without_the_broker(make_fleet: MakeFleet, sqlite_url: str) -> None:
    fleet = make_fleet(sqlite_url, ROBOFLOW_BROKER_URL="redis://:hunter2-secret@127.0.0.1:1/0")
    down = fleet.cli("health", "--json")
    assert down.returncode == 1
    report = json.loads(down.stdout)
    assert report["healthy"] is False
    assert report["checks"]["broker"]["ok"] is False and report["checks"]["state_store"]["ok"] is True
    assert "hunter2" not in down.stdout + down.stderr

    fleet.env["ROBOFLOW_BROKER_URL"] = fleet.broker.url
    up = fleet.cli("health")
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.splitlines()[-1] == "healthy"
