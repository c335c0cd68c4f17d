"""Two `roboflow run` nodes, `roboflow submit --wait`: one dataset equal to `roboflow convert`'s, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

from storage.servers.fixtures import s3_options

from roboflow.coordination import open_store
from roboflow.coordination.units import list_units
from roboflow.fleet.merger import merge_batch

from .conftest import MakeFleet
from .readback import Recordings, assert_same_dataset


def test_two_nodes_convert_a_batch_into_the_convert_dataset(
    make_fleet: MakeFleet, store_url: str, recordings: Recordings, tmp_path: Path
) -> None:
    fleet = make_fleet(store_url)
    fleet.node()
    fleet.node()
    out = tmp_path / "dataset"
    done = fleet.submit(str(recordings.directory), "-c", str(recordings.config), "-o", str(out),
                        "--batch-id", "e2e", "--wait", "--no-progress")
    assert done.returncode == 0, done.stderr + fleet.log_tail()
    assert done.stdout.strip() == "e2e"
    assert "complete (6 recordings converted)" in done.stderr
    assert_same_dataset(out, recordings)
    assert not (tmp_path / ".dataset.staging").exists()  # staging removed after the merge

    status = json.loads(fleet.cli("batch", "status", "e2e", "--json").stdout)
    assert status["phase"] == "complete" and status["output"] == str(out)
    assert status["units"] == {"pending": 0, "processing": 0, "complete": 6, "failed": 0, "dead": 0, "cancelled": 0}
    jobs = json.loads(fleet.cli("jobs", "list", "--batch", "e2e", "--json").stdout)
    assert sorted(job["source"] for job in jobs) == sorted(recordings.specs)
    assert all(job["state"] == "complete" and job["attempts"] == 1 for job in jobs)

    published = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    store = open_store(store_url)
    try:
        again = merge_batch(store, "e2e")  # a late duplicate merge message
    finally:
        store.close()
    assert again == {"batch_id": "e2e", "phase": "complete", "merged": False}
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == published


def test_a_batch_from_local_recordings_to_s3(make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings,
                                             tmp_path: Path, s3_bucket: str, moto_endpoint: str) -> None:
    from storage.servers.fixtures import S3_KEYS

    from roboflow.storage import download_tree, open_storage

    fleet = make_fleet(sqlite_url, AWS_ENDPOINT=moto_endpoint, AWS_ACCESS_KEY_ID=S3_KEYS.access_key_id,
                       AWS_SECRET_ACCESS_KEY=S3_KEYS.secret_access_key, AWS_REGION="us-east-1")
    fleet.node()
    out = f"s3://{s3_bucket}/datasets/run1"
    done = fleet.submit(str(recordings.directory), "-c", str(recordings.config), "-o", out, "--batch-id", "tos3",
                        "--wait", "--no-progress")
    assert done.returncode == 0, done.stderr + fleet.log_tail()
    local = tmp_path / "downloaded"
    download_tree(out, local, options=s3_options(moto_endpoint))
    assert_same_dataset(local, recordings)
    store = open_store(sqlite_url)
    try:
        shards = [shard for unit in list_units(store, "tos3") for shard in (unit.result or {})["shards"]]
    finally:
        store.close()
    assert len(shards) == 6 and all(s.startswith(f"s3://{s3_bucket}/datasets/.run1.staging/tos3/") for s in shards)
    staging = open_storage(f"s3://{s3_bucket}/datasets/.run1.staging", s3_options(moto_endpoint))
    assert list(staging.list()) == []  # removed after the merge
