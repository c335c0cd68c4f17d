"""``--overwrite`` of a dataset on S3 (moto's server, a fault proxy in front): the new dataset is staged complete
beside the old one before the old one is touched, so a failed upload never leaves the user without a dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_readback import CAMERAS, CONFIG
from storage.servers.fault_proxy import Fault, FaultProxy
from storage.servers.fixtures import s3_options

from roboflow.config import parse_config
from roboflow.errors import StorageError
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local
from roboflow.storage import download_tree, open_storage
from roboflow.storage.publish import staged_sibling
from roboflow.synth import SynthSpec, write_recording


def _tree(url: str, options: Any, target: Path) -> dict[str, bytes]:
    """Every object under ``url``, downloaded into ``target``: key -> bytes."""
    download_tree(url, target, options=options)
    return {path.relative_to(target).as_posix(): path.read_bytes() for path in target.rglob("*") if path.is_file()}


def _frames(tree: dict[str, bytes]) -> int:
    return int(json.loads(tree["meta/info.json"])["total_frames"])


def test_a_failed_overwrite_keeps_a_complete_dataset_and_a_good_one_leaves_no_old_object(  # type: ignore[no-untyped-def]
    s3_bucket: str, moto_endpoint: str, proxy_for, tmp_path: Path
) -> None:
    old_recording, new_recording = tmp_path / "old.mcap", tmp_path / "new.mcap"
    write_recording(old_recording, SynthSpec(duration_s=0.5, cameras=CAMERAS, seed=1))
    write_recording(new_recording, SynthSpec(duration_s=0.8, cameras=CAMERAS, seed=2))
    config = parse_config(CONFIG)
    out, staging = f"s3://{s3_bucket}/sets/pick", f"s3://{s3_bucket}/sets/.pick.new"
    assert staged_sibling(out) == staging and staged_sibling(f"s3://{s3_bucket}") is None
    options = s3_options(moto_endpoint)
    old_run = run_local([str(old_recording)], config, out, RunOptions(storage=options, format="v2.1"))
    assert old_run.exit_status == 0
    old = _tree(out, options, tmp_path / "old")
    assert "meta/episodes.jsonl" in old  # v2.1: its keys differ from the v3.0 dataset that replaces it
    proxy: FaultProxy = proxy_for(moto_endpoint)
    faulty = RunOptions(storage=s3_options(proxy.endpoint), overwrite=True)

    # the staged upload fails: the old dataset is untouched, the staged remains are gone
    proxy.add(Fault("status", match=f"PUT /{s3_bucket}/sets/.pick.new/meta/info.json", status=403,
                    code="AccessDenied"))
    with pytest.raises(StorageError, match="access denied"):
        run_local([str(new_recording)], config, out, faulty)
    assert _tree(out, options, tmp_path / "kept") == old
    assert validate_dataset(tmp_path / "kept") == []
    assert not any(True for _ in open_storage(staging, options).list())

    # the swap fails after the old dataset is unpublished: the error names the complete new one
    proxy.add(Fault("status", match=f"PUT /{s3_bucket}/sets/pick/meta/info.json", status=403, code="AccessDenied"))
    with pytest.raises(StorageError, match=rf"access denied; the old dataset was already unpublished, the new one "
                                           rf"is complete at {staging} \(run again with --overwrite, or use "):
        run_local([str(new_recording)], config, out, faulty)
    staged = _tree(staging, options, tmp_path / "staged")
    assert validate_dataset(tmp_path / "staged") == [] and _frames(staged) > _frames(old)
    assert not open_storage(out, options).exists("meta/info.json")
    assert proxy.pending() == 0

    # a clean overwrite: the new dataset in place, none of the old keys left, nothing staged
    assert run_local([str(new_recording)], config, out, RunOptions(storage=options, overwrite=True)).exit_status == 0
    new = _tree(out, options, tmp_path / "new")
    assert validate_dataset(tmp_path / "new") == []
    assert set(new) == set(staged) and "meta/episodes.jsonl" not in new
    assert all(new[key] == staged[key] for key in new if key != "meta/roboflow.json")  # same but for created_at
    assert not any(True for _ in open_storage(staging, options).list())
