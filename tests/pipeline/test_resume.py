"""A killed ``roboflow convert`` resumes; the environment stops a run; changed inputs and configs are redone.

The kill tests run the real command in its own process group, kill the whole group with SIGKILL at a point of
the run (converting, merging, publishing), run the same command again and compare the dataset with an
uninterrupted run of the same output: parquet tables equal, video frames equal, provenance equal but for its
time. Nothing may be left beside the output.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from pipeline.episodic import concatenate, segments
from pipeline.pipeline_readback import CONFIG
from storage.servers.fixtures import oss_options, s3_options

from roboflow.config import parse_config
from roboflow.coordination import open_store
from roboflow.coordination.checkpoints import load_checkpoint
from roboflow.coordination.records import UnitState
from roboflow.coordination.units import list_units
from roboflow.lerobot.validate import validate_dataset
from roboflow.pipeline import RunOptions, ShardResult, WorkItem, run_local
from roboflow.pipeline.staging import output_url, run_id, staging_base
from roboflow.storage import open_storage
from roboflow.synth import write_recording

EPISODES_CONFIG = CONFIG + '\n[episodes]\nsplit = "gap"\ngap_s = 1.0\n'
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``in/`` (3 recordings of 3 episodes), ``config.toml`` and ``reference/``: the dataset an uninterrupted run
    writes at ``out`` (moved aside, so provenance, which names the run's output, compares equal)."""
    root = tmp_path_factory.mktemp("resume")
    (root / "in").mkdir()
    for r in range(3):
        pieces = []
        for k, spec in enumerate(segments(r, duration_s=1.0)):
            pieces.append(root / f"piece{r}{k}.mcap")
            write_recording(pieces[-1], spec, format="mcap")
        concatenate(pieces, root / "in" / f"run{r}.mcap")
        for piece in pieces:
            piece.unlink()
    (root / "config.toml").write_text(EPISODES_CONFIG)
    assert _convert(root).returncode == 0
    (root / "out").rename(root / "reference")
    yield root


def _command(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "roboflow", "convert", str(root / "in"), "-c", str(root / "config.toml"), "-o",
            str(root / "out"), "--no-progress", *extra]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ROBOFLOW_STATE_URL"}
    return env | {"PYTHONPATH": str(ROOT)}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=False, env=_env(), capture_output=True, text=True, timeout=300)


def _convert(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run(_command(root, *extra))


def _staging(root: Path) -> Path:
    url = output_url(root / "out")
    return staging_base(url) / run_id(url)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def assert_same_dataset(out: Path, reference: Path) -> None:
    """Parquet tables equal, video frames equal, provenance equal but for its time, the same files."""
    assert validate_dataset(out) == []
    names = sorted(str(p.relative_to(reference)) for p in reference.rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == names
    for name in names:
        if name.endswith(".parquet"):
            assert pq.read_table(out / name).equals(pq.read_table(reference / name)), name
        elif name.endswith(".mp4"):
            mine, theirs = _frames(out / name), _frames(reference / name)
            assert len(mine) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
        elif name == "meta/roboflow.json":
            mine, theirs = (json.loads(p.read_text()) | {"created_at": ""} for p in (out / name, reference / name))
            assert mine == theirs
        else:
            assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def _nothing_left(root: Path) -> None:
    assert sorted(p.name for p in root.iterdir()) == ["config.toml", "in", "out", "reference"]


def _kill_when(root: Path, ready: Callable[[subprocess.Popen[str], Path], bool]) -> bool:
    """Start the command in its own process group and SIGKILL the group once ``ready`` says so; False if the
    command ended first."""
    stderr = root / "stderr.log"
    with stderr.open("w") as log:
        process = subprocess.Popen(_command(root), env=_env(), stdout=subprocess.DEVNULL, stderr=log, text=True,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while process.poll() is None and not ready(process, stderr) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            killed = process.poll() is None
            if killed:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stderr.unlink()
    return killed


def _held_with_parts(root: Path) -> bool:
    """A unit is being converted, its checkpoint names a finished episode, and another unit is complete."""
    state = _staging(root) / "state.db"
    if not state.exists():
        return False
    store = open_store(f"sqlite://{state}")
    try:
        units = list_units(store, run_id(output_url(root / "out")))
        held = [u for u in units if u.state is UnitState.PROCESSING and u.owner]
        checkpoints = [load_checkpoint(store, u.owner) for u in held if u.owner]
        return any(u.state is UnitState.COMPLETE for u in units) and any(
            c is not None and c.data.get("parts") for c in checkpoints)
    except Exception:  # noqa: BLE001 - the state is being created: poll again
        return False
    finally:
        store.close()


def test_killed_while_converting_resumes_and_writes_the_same_dataset(work: Path) -> None:
    assert _kill_when(work, lambda process, stderr: _held_with_parts(work))
    assert not (work / "out").exists() and _staging(work).is_dir()
    rerun = _convert(work)
    assert rerun.returncode == 0, rerun.stderr
    assert "reused     [1/3]" in rerun.stderr  # the converted recording is not converted again
    assert "converting [1/3]" not in rerun.stderr
    assert_same_dataset(work / "out", work / "reference")
    _nothing_left(work)
    shutil.rmtree(work / "out")


@pytest.mark.parametrize("point", ["merging", "publishing"])
def test_killed_while_merging_or_publishing_resumes(work: Path, point: str) -> None:
    def ready(process: subprocess.Popen[str], stderr: Path) -> bool:
        if point == "merging":
            return "merging" in stderr.read_text()
        return (work / "out" / "meta" / "info.json").exists()

    for _ in range(3):  # the window after publishing is short: on a busy machine the run may end before
        if _kill_when(work, ready):
            break
        shutil.rmtree(work / "out")
    else:
        pytest.fail(f"never caught the run {point}")
    rerun = _convert(work)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("reused") == 3 and "converting" not in rerun.stderr
    assert_same_dataset(work / "out", work / "reference")
    _nothing_left(work)
    shutil.rmtree(work / "out")


class _Events:
    """Records what a run reports; interrupts it (as Ctrl-C would) after ``stop_after`` converted recordings."""

    wants_progress = False

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.converted_count = 0
        self.lines: list[str] = []

    def planned(self, items: list[WorkItem]) -> None: ...

    def notice(self, text: str) -> None:
        self.lines.append(text)

    def reused(self, result: ShardResult) -> None:
        self.lines.append(f"reused {Path(result.item.url).name}")

    def started(self, item: WorkItem) -> None: ...

    def progress(self, item: WorkItem, done: int, total: int | None, frames: int) -> None: ...

    def converted(self, result: ShardResult) -> None:
        self.lines.append(f"converted {Path(result.item.url).name}")
        self.converted_count += 1
        if self.stop_after is not None and self.converted_count >= self.stop_after:
            raise KeyboardInterrupt

    def failed(self, failure: object) -> None: ...

    def merging(self, shards: int) -> None: ...


def _interrupted(work: Path, inputs: Path, out: Path, config: str = EPISODES_CONFIG) -> None:
    """A run stopped after its first recording (KeyboardInterrupt), its staging kept."""
    with pytest.raises(KeyboardInterrupt):
        run_local([str(inputs)], parse_config(config), out, RunOptions(), _Events(stop_after=1))
    assert not out.exists() and (staging_base(output_url(out)) / run_id(output_url(out))).is_dir()


def test_a_changed_config_or_input_is_converted_again_and_says_why(work: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    shutil.copytree(work / "in", inputs)
    out = tmp_path / "out"
    _interrupted(work, inputs, out)
    changed = EPISODES_CONFIG.replace('task = "wave"', 'task = "wave twice"')
    events = _Events()
    report = run_local([str(inputs)], parse_config(changed), out, RunOptions(), events)
    assert report.reused == 0 and report.exit_status == 0
    assert events.lines[0] == ("the config changed since the interrupted run of this output: converting every "
                               "recording again")
    shutil.rmtree(out)

    _interrupted(work, inputs, out)
    first = min(inputs.iterdir())
    first.unlink()
    write_recording(first, segments(7, duration_s=1.0)[0], format="mcap")  # another recording, same name
    events = _Events()
    report = run_local([str(inputs)], parse_config(EPISODES_CONFIG), out, RunOptions(), events)
    assert report.reused == 0  # the one converted recording changed
    assert f"{first}: changed since the interrupted run (size" in events.lines[0]
    assert events.lines[1:] == ["converted run0.mcap", "converted run1.mcap", "converted run2.mcap"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def _same_size_other(original: Path, out: Path) -> None:
    """Another valid recording at ``out`` (shorter episodes, another seed), padded to the size of ``original``."""
    pieces = []
    for k, spec in enumerate(segments(7, duration_s=0.5)):
        pieces.append(out.with_name(f"piece{k}.mcap"))
        write_recording(pieces[-1], spec, format="mcap")
    concatenate(pieces, out, {"pad": ""})
    concatenate(pieces, out, {"pad": "x" * (original.stat().st_size - out.stat().st_size)})
    for piece in pieces:
        piece.unlink()
    assert out.stat().st_size == original.stat().st_size and out.read_bytes() != original.read_bytes()


@pytest.mark.parametrize("scheme", ["s3", "oss"])
def test_a_replaced_remote_input_of_the_same_size_is_converted_again(
    work: Path, tmp_path: Path, scheme: str, request: pytest.FixtureRequest
) -> None:
    if scheme == "s3":
        options = s3_options(request.getfixturevalue("moto_endpoint"))
    else:
        options = oss_options(request.getfixturevalue("oss_server").endpoint)
    bucket = request.getfixturevalue(f"{scheme}_bucket")
    inputs = f"{scheme}://{bucket}/in"
    store = open_storage(inputs, options)

    def upload(key: str, path: Path) -> None:
        with store.writer(key) as stream:
            stream.write(path.read_bytes())

    for name in ("run0.mcap", "run1.mcap"):
        upload(name, work / "in" / name)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):  # stopped once run0.mcap is converted
        run_local([inputs], parse_config(EPISODES_CONFIG), out, RunOptions(storage=options), _Events(stop_after=1))
    _same_size_other(work / "in" / "run0.mcap", tmp_path / "other.mcap")
    upload("run0.mcap", tmp_path / "other.mcap")
    events = _Events()
    report = run_local([inputs], parse_config(EPISODES_CONFIG), out, RunOptions(storage=options), events)
    assert report.reused == 0 and report.exit_status == 0
    assert events.lines == [
        f"{inputs}/run0.mcap: changed since the interrupted run (same size, new ETag): converting it again",
        "converted run0.mcap", "converted run1.mcap",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.mcap", "out"]


def test_restart_discards_and_damaged_parts_are_not_trusted(work: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _interrupted(work, work / "in", out)
    events = _Events()
    report = run_local([str(work / "in")], parse_config(EPISODES_CONFIG), out, RunOptions(restart=True), events)
    assert report.reused == 0
    assert events.lines[0] == "--restart: discarded what an earlier run of this output staged"
    shutil.rmtree(out)

    _interrupted(work, work / "in", out)
    staging = staging_base(output_url(out)) / run_id(output_url(out))
    (info,) = staging.glob("*/attempt-*/part-0001/meta/info.json")
    info.unlink()
    events = _Events()
    run_local([str(work / "in")], parse_config(EPISODES_CONFIG), out, RunOptions(), events)
    assert "its staged episodes do not match what was recorded" in events.lines[0]
    assert "reused" not in " ".join(events.lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    shutil.rmtree(out)

    _interrupted(work, work / "in", out)
    (provenance,) = staging.glob("*/attempt-*/part-0000/meta/roboflow.json")
    document = json.loads(provenance.read_text())
    provenance.write_text(json.dumps(document | {"source": {**document["source"], "sha256": "0" * 64}}))
    events = _Events()
    run_local([str(work / "in")], parse_config(EPISODES_CONFIG), out, RunOptions(), events)
    assert "was made from another recording (SHA-256 0000" in events.lines[0]


def test_stale_staging_of_other_outputs_is_reported_in_one_line(work: Path, tmp_path: Path) -> None:
    (tmp_path / ".other.staging" / "local-0").mkdir(parents=True)
    (tmp_path / ".other.staging" / "local-0" / "x").write_bytes(b"x" * 1000)
    (tmp_path / ".out.partial-1234").mkdir()  # what a killed merge of this output left
    events = _Events()
    run_local([str(work / "in" / "run0.mcap")], parse_config(EPISODES_CONFIG), tmp_path / "out", RunOptions(),
              events)
    assert events.lines[0].startswith(f"warning: {tmp_path} holds staging of other outputs (.other.staging, ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.staging", "out"]


@pytest.fixture
def small_disk(work: Path, tmp_path: Path) -> Iterator[tuple[Path, Callable[[str], None]]]:
    """A tmpfs (root only; any user gets the RLIMIT_FSIZE test below) of 60% of the reference dataset's size, and
    a function that resizes it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    size = int(0.6 * sum(p.stat().st_size for p in (work / "reference").rglob("*") if p.is_file()))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)

    def resize(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)

    try:
        yield mount, resize
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_run_keeps_staging_and_a_rerun_resumes(
    work: Path, small_disk: tuple[Path, Callable[[str], None]]
) -> None:
    mount, resize = small_disk
    out = mount / "out"
    command = [sys.executable, "-m", "roboflow", "convert", str(work / "in"), "-c", str(work / "config.toml"),
               "-o", str(out), "--no-progress"]
    full = _run(command)
    assert full.returncode == 1, full.stderr
    (line,) = [x for x in full.stderr.splitlines() if x.startswith("roboflow: error:")]
    assert "no space left on device" in line and f"on {mount}, then run the same command again: it resumes" in line
    assert "Traceback" not in full.stderr and "skipped" not in full.stderr
    assert not out.exists()
    staging = staging_base(output_url(out)) / run_id(output_url(out))
    assert (staging / "state.db").exists()

    resize("64m")
    rerun = _run(command)
    assert rerun.returncode == 0, rerun.stderr
    assert validate_dataset(out) == []
    for data in sorted((work / "reference" / "data").rglob("*.parquet")):
        assert pq.read_table(out / data.relative_to(work / "reference")).equals(pq.read_table(data))
    assert sorted(p.name for p in mount.iterdir()) == ["out"]


def test_a_file_size_limit_stops_the_run_keeps_staging_and_a_rerun_resumes(work: Path) -> None:
    """The fallback of the tmpfs above for any user: RLIMIT_FSIZE (set in the child) makes a write fail with EFBIG
    (Python ignores SIGXFSZ); the first episode's image samples already pass 100 kB."""
    limit = 100_000

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    limited = subprocess.run(_command(work), check=False, env=_env(), capture_output=True, text=True, timeout=300,
                             preexec_fn=limit_file_size)
    assert limited.returncode == 1, limited.stderr
    (line,) = [x for x in limited.stderr.splitlines() if x.startswith("roboflow: error:")]
    assert line == (f"roboflow: error: {_staging(work)}: file too large (raise the file size limit set by ulimit -f, "
                    f"now {limit} bytes, then run the same command again: it resumes)")
    assert "Traceback" not in limited.stderr and "skipped" not in limited.stderr
    assert not (work / "out").exists() and (_staging(work) / "state.db").exists()
    store = open_store(f"sqlite://{_staging(work) / 'state.db'}")
    try:  # the unit was given back, not failed as a bad recording
        assert {u.state for u in list_units(store, run_id(output_url(work / "out")))} == {UnitState.PENDING}
    finally:
        store.close()

    rerun = _convert(work)
    assert rerun.returncode == 0, rerun.stderr
    assert "changed" not in rerun.stderr and "discarded" not in rerun.stderr  # the recorded run was resumed
    assert_same_dataset(work / "out", work / "reference")
    _nothing_left(work)
    shutil.rmtree(work / "out")


def test_a_remote_output_aborts_unfinished_uploads_and_reports_other_staging(
    work: Path, s3_client: Any, s3_bucket: str, moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remote outputs stage in ``TMPDIR``: its own one here, so staging other runs left in the machine's is not seen."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "roboflow-staging" / "local-0123456789abcdef" / "shard").mkdir(parents=True)
    (tmp_path / "roboflow-staging" / "local-0123456789abcdef" / "shard" / "x").write_bytes(b"x" * 100)
    options = s3_options(moto_endpoint)
    left = s3_client.create_multipart_upload(Bucket=s3_bucket, Key="sets/out/data/chunk-000/file-000.parquet")
    s3_client.put_object(Bucket=s3_bucket, Key="sets/.other.staging/b1/part/x", Body=b"x" * 100)
    out = f"s3://{s3_bucket}/sets/out"
    events = _Events()
    report = run_local([str(work / "in" / "run0.mcap")], parse_config(EPISODES_CONFIG), out,
                       RunOptions(storage=options), events)
    assert report.exit_status == 0
    assert events.lines[:3] == [
        f"aborted 1 unfinished upload(s) under {out} left by an interrupted run",
        (f"warning: s3://{s3_bucket}/sets holds staging of other outputs (.other.staging, 0.1 GB): a run of those "
        "outputs resumes from it; delete it if none will"),
        (f"warning: {tmp_path / 'roboflow-staging'} holds staging of other outputs (local-0123456789abcdef, 0.1 GB): "
         "a run of those outputs resumes from it; delete it if none will"),
    ]
    uploads = s3_client.list_multipart_uploads(Bucket=s3_bucket, Prefix="sets/out/").get("Uploads", [])
    assert left["UploadId"] not in [u["UploadId"] for u in uploads]
    assert not (staging_base(out) / run_id(out)).exists()  # the local staging of the remote output is gone


def test_a_read_only_output_file_system_is_one_line_exit_1(
    work: Path, small_disk: tuple[Path, Callable[[str], None]]
) -> None:
    mount, resize = small_disk
    resize("64m,ro")
    done = _run([sys.executable, "-m", "roboflow", "convert", str(work / "in" / "run0.mcap"), "-c",
                 str(work / "config.toml"), "-o", str(mount / "out"), "--no-progress"])
    assert done.returncode == 1
    assert done.stderr.splitlines() == [(f"roboflow: error: {mount}: read-only file system (make it writable for "
                                        "this user, then run the same command again: it resumes)")]
