"""``roboflow convert`` from and to object storage, over real HTTP: moto's S3 server and the OSS test server
on loopback, a fault proxy in front of them. Synth recordings (MCAP, ROS1 bag, rosbag2 directory) in, datasets
out, read back against the ground truth."""

from __future__ import annotations

import hashlib
import json
import logging
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_main import run
from pipeline_readback import CAMERAS, CONFIG, check_episode, read_dataset
from storage.servers.fault_proxy import Fault, FaultProxy
from storage.servers.fixtures import OSS_KEYS, S3_KEYS, oss_options, s3_options

from roboflow.config import parse_config
from roboflow.errors import StorageError
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, run_local
from roboflow.provenance import source_facts
from roboflow.storage import Credentials, StorageOptions, download_tree, open_storage, upload_tree
from roboflow.synth import CameraSpec, SynthSpec, write_recording

#: name under the input prefix -> (synth format, spec); episodes follow the sorted URLs.
RECORDINGS = {
    "a.mcap": ("mcap", SynthSpec(duration_s=1.0, cameras=CAMERAS, seed=1)),
    "b.bag": ("ros1", SynthSpec(duration_s=0.8, cameras=CAMERAS, seed=2)),
    "sub/c": ("ros2-sqlite3", SynthSpec(duration_s=0.9, cameras=CAMERAS, seed=3)),
}
FORMATS = ["mcap", "ros1bag", "rosbag2"]


@dataclass
class Store:
    """A bucket of the S3 or OSS server on loopback."""

    scheme: str
    bucket: str
    endpoint: str
    keys: Credentials

    def url(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{key}"

    def options(self, endpoint: str | None = None, **changes: Any) -> StorageOptions:
        make = s3_options if self.scheme == "s3" else oss_options
        options: StorageOptions = make(endpoint or self.endpoint, **changes)
        return options

    @property
    def environment(self) -> dict[str, str]:
        """What a user exports to reach this store."""
        if self.scheme == "s3":
            return {"AWS_ENDPOINT": self.endpoint, "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": self.keys.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": self.keys.secret_access_key}
        return {"OSS_ENDPOINT": self.endpoint, "OSS_ACCESS_KEY_ID": self.keys.access_key_id,
                "OSS_ACCESS_KEY_SECRET": self.keys.secret_access_key}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recs")
    for name, (fmt, spec) in RECORDINGS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_recording(root / name, spec, format=fmt)
    (root / "notes.txt").write_text("not a recording")
    return root


def s3_store(request: pytest.FixtureRequest) -> Store:
    bucket, endpoint = request.getfixturevalue("s3_bucket"), request.getfixturevalue("moto_endpoint")
    return Store("s3", bucket, endpoint, S3_KEYS)


@pytest.fixture(params=["s3", "oss"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "s3":
        return s3_store(request)
    return Store("oss", request.getfixturevalue("oss_bucket"), request.getfixturevalue("oss_server").endpoint,
                 OSS_KEYS)


def download(store: Store, key: str, target: Path) -> Path:
    download_tree(store.url(key), target, options=store.options())
    return target


def check_dataset(root: Path, store: Store, recordings: Path) -> dict[str, Any]:
    """The dataset converted from ``recordings`` under ``recs/``: valid, in URL order, as the ground truth."""
    assert validate_dataset(root) == []
    info, episodes, provenance = read_dataset(root)
    assert info["total_episodes"] == 3
    names = sorted(RECORDINGS)
    entries = provenance["episodes"]
    assert [e["source"]["url"] for e in entries] == [store.url(f"recs/{name}") for name in names]
    assert [e["source"]["format"] for e in entries] == FORMATS
    for entry, name in zip(entries, names, strict=True):  # hashed while streaming, equal to the file's hash
        local = source_facts(recordings / name)
        assert (entry["source"]["size"], entry["source"]["sha256"]) == (local.size, local.sha256)
    for episode, entry, name in zip(episodes, entries, names, strict=True):
        check_episode(episode, entry["alignment"][0], RECORDINGS[name][1])
    return provenance


def test_convert_from_a_bucket_prefix_to_a_bucket_dataset(  # type: ignore[no-untyped-def]
    store: Store, recordings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, caplog
) -> None:
    upload_tree(recordings, store.url("recs"), options=store.options())
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "OSS_REGION", "OSS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in store.environment.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "synth.toml"
    config.write_text(CONFIG)
    caplog.set_level(logging.DEBUG, logger="roboflow")
    out = store.url("datasets/synth")

    assert run("convert", store.url("recs/"), "-c", str(config), "-o", out, "-j", "2") == 0
    captured = capsys.readouterr()
    assert f"wrote {out}: 3 episodes" in captured.out
    assert "notes.txt" not in captured.out  # not a recording: not listed
    provenance = check_dataset(download(store, "datasets/synth", tmp_path / "ds"), store, recordings)
    assert provenance["recordings"] == {"converted": 3, "skipped": []}
    seen = captured.out + captured.err + caplog.text
    seen += "".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "ds").rglob("*") if p.is_file())
    assert store.keys.secret_access_key not in seen and store.keys.access_key_id not in seen

    assert run("convert", store.url("recs/a.mcap"), "-c", str(config), "-o", out) == 2
    refusal = f"{out}: exists already, not overwriting (pass --overwrite to replace it)"
    assert refusal in capsys.readouterr().err
    assert run("convert", store.url("recs/a.mcap"), "-c", str(config), "-o", out, "--overwrite") == 0
    again = download(store, "datasets/synth", tmp_path / "again")
    assert validate_dataset(again) == [] and read_dataset(again)[0]["total_episodes"] == 1


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_an_mcap_is_read_in_ranges_about_once_and_never_copied_to_disk(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path: Path, proxy_for
) -> None:
    store = s3_store(request)
    unmapped = CameraSpec("cam_left", "rgb8", 160, 120)  # most of the bytes, on a topic the config leaves out
    write_recording(tmp_path / "big.mcap", SynthSpec(duration_s=1.0, cameras=(*CAMERAS, unmapped)))
    mcap = (tmp_path / "big.mcap").read_bytes()
    with open_storage(store.url("recs"), store.options()).writer("big.mcap") as out:
        out.write(mcap)
    proxy: FaultProxy = proxy_for(store.endpoint)
    range_size = 128 * 1024
    options = RunOptions(storage=store.options(proxy.endpoint, range_size=range_size))
    limit = len(mcap) // 3  # no file of the run may be larger, so no copy of the recording can be written
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        with pytest.raises(OSError, match="File too large"):  # the limit holds
            (tmp_path / "copy.mcap").write_bytes(mcap)
        report = run_local([store.url("recs/big.mcap")], parse_config(CONFIG), tmp_path / "out", options)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert report.exit_status == 0 and not report.failures
    gets = [r for r in proxy.requests if r.startswith(f"GET /{store.bucket}/recs/big.mcap")]
    assert len(gets) >= -(-len(mcap) // range_size)  # in ranges
    # converted and hashed in one pass (the SHA-256 needs every byte): nothing is fetched twice but the ranges
    # the reader touches at open (header, summary at the end, an index), which the two-range cache lets go
    listing = 4096  # the listing of recs/big.mcap/ (empty)
    assert len(mcap) <= proxy.body_bytes <= len(mcap) + 3 * range_size + listing
    provenance = json.loads((tmp_path / "out" / "meta" / "roboflow.json").read_text())
    assert provenance["episodes"][0]["source"]["sha256"] == hashlib.sha256(mcap).hexdigest()


def test_transient_faults_during_a_run_are_retried_and_change_no_byte(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, recordings: Path, tmp_path: Path, proxy_for
) -> None:
    store = s3_store(request)
    upload_tree(recordings, store.url("recs"), options=store.options())
    proxy: FaultProxy = proxy_for(store.endpoint)
    options = store.options(proxy.endpoint, range_size=64 * 1024)
    config = parse_config(CONFIG)

    def convert(name: str) -> Path:
        report = run_local([store.url("recs/")], config, store.url(name), RunOptions(storage=options))
        assert report.exit_status == 0 and not report.failures
        return download(store, name, tmp_path / name)

    clean = convert("clean")
    bucket = store.bucket
    proxy.add(
        Fault("status", match=f"GET /{bucket}?", status=500, code="InternalError"),  # a listing
        Fault("status", match=f"GET /{bucket}/recs/a.mcap", code="SlowDown", skip=2),  # a range of the MCAP
        Fault("cut_body", match=f"GET /{bucket}/recs/b.bag", skip=1),  # of the ROS1 bag
        Fault("reset", match=f"GET /{bucket}/recs/sub/c/"),  # the download of the rosbag2 directory
        Fault("reset", match=f"PUT /{bucket}/faulty/data/"),  # an upload of the dataset
    )
    faulty = convert("faulty")
    assert proxy.pending() == 0  # every fault happened
    assert files(faulty) == files(clean) and "meta/info.json" in files(clean)
    for name in files(clean):
        before, after = (clean / name).read_bytes(), (faulty / name).read_bytes()
        if name == "meta/roboflow.json":  # equal but for the time of the run and its id (from the output)
            before, after = (json.loads(text) | {"created_at": "", "batch_id": ""} for text in (before, after))
        assert before == after, name

    # a failure the store does not recover from: the old dataset is unpublished first, the new one never is
    proxy.add(Fault("status", match=f"PUT /{bucket}/faulty/meta/info.json", status=403, code="AccessDenied"))
    with pytest.raises(StorageError, match="access denied"):
        run_local([store.url("recs/a.mcap")], config, store.url("faulty"),
                  RunOptions(storage=options, overwrite=True))
    remote = open_storage(store.url("faulty"), store.options())
    assert not remote.exists("meta/info.json") and any(True for _ in remote.list("data/"))


def test_overwrite_replaces_a_remote_dataset_or_its_remains_never_other_objects(
    s3_client: Any, s3_bucket: str, moto_endpoint: str
) -> None:
    from roboflow.errors import DatasetError
    from roboflow.pipeline.merge import check_output

    options = s3_options(moto_endpoint)
    s3_client.put_object(Bucket=s3_bucket, Key="notes/readme.txt", Body=b"mine")
    with pytest.raises(DatasetError, match="holds other files than a LeRobot dataset"):
        check_output(f"s3://{s3_bucket}/notes", overwrite=True, options=options)
    s3_client.put_object(Bucket=s3_bucket, Key="cut/meta/roboflow.json", Body=b"{}")  # an upload cut short
    s3_client.put_object(Bucket=s3_bucket, Key="cut/data/chunk-000/file-000.parquet", Body=b"x")
    check_output(f"s3://{s3_bucket}/cut", overwrite=True, options=options)
    with pytest.raises(DatasetError, match="exists already"):
        check_output(f"s3://{s3_bucket}/cut", overwrite=False, options=options)
    assert s3_client.get_object(Bucket=s3_bucket, Key="notes/readme.txt")["Body"].read() == b"mine"
