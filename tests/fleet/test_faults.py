"""Faults on a real fleet, each ending in the dataset `roboflow convert` writes, every episode exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from storage.servers.fault_proxy import Fault
from storage.servers.fixtures import S3_KEYS
from tikv_emulator import Emulator

from roboflow.coordination import StateStore, open_store
from roboflow.coordination.batches import get_batch
from roboflow.coordination.records import BatchPhase, UnitState, WorkUnit
from roboflow.coordination.units import get_unit, list_units

from .conftest import MakeFleet
from .harness import Fleet, wait_for
from .readback import Recordings, assert_same_dataset


def _submit(fleet: Fleet, recordings: Recordings, out: Path, batch_id: str, *extra: str) -> subprocess.Popen[str]:
    return fleet.submit_async(str(recordings.directory), *extra, "-c", str(recordings.config), "-o", str(out),
                              "--batch-id", batch_id, "--wait", "--no-progress")


def _two_nodes(make_fleet: MakeFleet, state_url: str, recordings: Recordings, tmp_path: Path,
               batch_id: str) -> tuple[Fleet, Path, subprocess.Popen[str]]:
    """Two `roboflow run` nodes and a `submit --wait` of the recordings; returns the fleet, output and submit."""
    fleet = make_fleet(state_url)
    fleet.node()
    fleet.node()
    out = tmp_path / "dataset"
    return fleet, out, _submit(fleet, recordings, out, batch_id)


def _finish(fleet: Fleet, submit: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        _, stderr = submit.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        submit.kill()
        raise AssertionError("the batch did not finish\n" + fleet.log_tail()) from None
    return submit.returncode, stderr


def _units(state_url: str, batch_id: str) -> list[Any]:
    store = open_store(state_url)
    try:
        return list_units(store, batch_id)
    except Exception:  # noqa: BLE001 - not recorded yet, or the store is briefly away: ask again
        return []
    finally:
        store.close()


def _pid_of(owner: str) -> int:
    """The worker process in a unit's owner ``<host>-<pid>-<incarnation>``."""
    return int(owner.rsplit("-", 2)[1])


def _kill_mid_conversion(fleet: Fleet, store: StateStore, batch_id: str) -> WorkUnit:
    """SIGKILL the node converting some unit, while it is converting it; returns that unit as it was.

    The node is frozen (SIGSTOP) first and the unit read again, so the kill surely lands mid-conversion.
    """
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = next((u for u in list_units(store, batch_id) if u.state is UnitState.PROCESSING), None)
        node = busy and fleet.node_of(_pid_of(busy.owner or ""))
        if busy is None or node is None:
            time.sleep(0.005)
            continue
        os.killpg(node.pid, signal.SIGSTOP)
        if get_unit(store, batch_id, busy.unit_id).state is UnitState.PROCESSING:
            fleet.kill(node)
            return busy
        os.killpg(node.pid, signal.SIGCONT)  # it finished just before the freeze: try another unit
    raise AssertionError("never caught a unit being converted\n" + fleet.log_tail())


def test_a_node_killed_mid_conversion(make_fleet: MakeFleet, store_url: str, recordings: Recordings,
                                      tmp_path: Path) -> None:
    fleet, out, submit = _two_nodes(make_fleet, store_url, recordings, tmp_path, "kill")
    store = open_store(store_url)
    try:
        wait_for(lambda: _units(store_url, "kill"), 60, "the batch's units")
        victim = _kill_mid_conversion(fleet, store, "kill")

        code, stderr = _finish(fleet, submit)
        assert code == 0, stderr + fleet.log_tail()
        assert_same_dataset(out, recordings)
        unit = get_unit(store, "kill", victim.unit_id)
    finally:
        store.close()
    assert unit.state is UnitState.COMPLETE
    assert unit.attempts == victim.attempts + 1  # reclaimed from the dead node, converted again elsewhere
    assert unit.owner != victim.owner


def test_redis_killed_and_restarted_mid_batch(make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings,
                                              tmp_path: Path) -> None:
    fleet, out, submit = _two_nodes(make_fleet, sqlite_url, recordings, tmp_path, "redis")
    wait_for(lambda: any(u.state is UnitState.COMPLETE for u in _units(sqlite_url, "redis")), 60,
             "a first unit done", every=0.01)
    fleet.broker.kill()  # no persistence: every queued message and the chord's counter are gone
    time.sleep(1.0)
    fleet.broker.start()

    code, stderr = _finish(fleet, submit)
    assert code == 0, stderr + fleet.log_tail()
    assert_same_dataset(out, recordings)


def test_the_merge_message_dropped(make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings,
                                   tmp_path: Path) -> None:
    fleet = make_fleet(sqlite_url)
    fleet.node("--queues", "scan,convert")
    fleet.node("--queues", "scan,convert")
    out = tmp_path / "dataset"
    submit = _submit(fleet, recordings, out, "drop")
    redis = fleet.broker.client()
    wait_for(lambda: redis.llen("merge") > 0, 60, "the chord's merge message", every=0.01)
    assert redis.delete("merge") == 1  # the message is gone for good
    fleet.node("--role", "worker", "--queues", "merge")

    code, stderr = _finish(fleet, submit)
    assert code == 0, stderr + fleet.log_tail()
    assert_same_dataset(out, recordings)


def test_the_merge_worker_killed_mid_merge(make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings,
                                           tmp_path: Path, s3_bucket: str, moto_endpoint: str,
                                           proxy_for: Any) -> None:
    proxy = proxy_for(moto_endpoint)
    fleet = make_fleet(sqlite_url, ROBOFLOW_STAGING_URL=f"s3://{s3_bucket}/staging", AWS_ENDPOINT=proxy.endpoint,
                       AWS_ACCESS_KEY_ID=S3_KEYS.access_key_id, AWS_SECRET_ACCESS_KEY=S3_KEYS.secret_access_key,
                       AWS_REGION="us-east-1")
    fleet.node("--queues", "scan,convert")
    merger = fleet.node("--role", "worker", "--queues", "merge")
    # reading shards back from staging is slow, so the merge is surely killed while it runs
    proxy.add(Fault("delay", match=f"GET /{s3_bucket}/staging/", times=100_000, delay=0.2))
    out = tmp_path / "dataset"
    submit = _submit(fleet, recordings, out, "mergekill")

    def merging() -> bool:
        store = open_store(sqlite_url)
        try:
            return get_batch(store, "mergekill").phase.phase is BatchPhase.MERGING
        except Exception:  # noqa: BLE001 - not submitted yet
            return False
        finally:
            store.close()

    wait_for(merging, 60, "the merge to start", every=0.02)
    wait_for(lambda: list(tmp_path.glob(".dataset.partial-*")), 30, "the merge to write its scratch", every=0.02)
    fleet.kill(merger)
    proxy.faults.clear()
    fleet.node("--role", "worker", "--queues", "merge")

    code, stderr = _finish(fleet, submit)
    assert code == 0, stderr + fleet.log_tail()
    assert_same_dataset(out, recordings)
    assert not list(tmp_path.glob(".dataset.partial-*"))  # the killed merge's scratch is gone too


def test_the_state_store_unreachable_for_10_s(make_fleet: MakeFleet, emulator: Emulator, recordings: Recordings,
                                              tmp_path: Path) -> None:
    url = f"tikv://{emulator.pd_address}"
    fleet, out, submit = _two_nodes(make_fleet, url, recordings, tmp_path, "outage")
    wait_for(lambda: any(u.state is UnitState.COMPLETE for u in _units(url, "outage")), 60, "a first unit done",
             every=0.02)
    emulator.faults.unavailable(True)
    time.sleep(10)
    emulator.faults.unavailable(False)

    code, stderr = _finish(fleet, submit)
    assert code == 0, stderr + fleet.log_tail()
    assert_same_dataset(out, recordings)


def test_a_corrupt_recording_fails_its_unit_and_the_rest_complete(
    make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad" / "broken.mcap"
    bad.parent.mkdir()
    good = recordings.directory / "r0.mcap"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3] + b"\x00garbage" * 64)
    fleet = make_fleet(sqlite_url)
    fleet.node()
    out = tmp_path / "dataset"
    submit = _submit(fleet, recordings, out, "corrupt", str(bad))

    code, stderr = _finish(fleet, submit)
    assert code == 4, stderr + fleet.log_tail()
    assert f"skipped: {bad}" in stderr
    assert_same_dataset(out, recordings)
    (failed,) = [u for u in _units(sqlite_url, "corrupt") if u.state is not UnitState.COMPLETE]
    assert failed.state is UnitState.FAILED and failed.attempts == 1 and failed.source_url == str(bad)
    assert failed.error and failed.error.startswith(str(bad))


def test_strict_fails_the_batch_and_publishes_nothing(make_fleet: MakeFleet, sqlite_url: str,
                                                     recordings: Recordings, tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "broken.bag"
    bad.parent.mkdir()
    bad.write_bytes(b"#ROSBAG V2.0\n" + b"\xff" * 100)
    fleet = make_fleet(sqlite_url)
    fleet.node()
    out = tmp_path / "dataset"
    submit = _submit(fleet, recordings, out, "strict", str(bad), "--strict")

    code, stderr = _finish(fleet, submit)
    assert code == 1, stderr + fleet.log_tail()
    assert "batch strict failed: --strict: a recording failed:" in stderr and str(bad) in stderr
    assert not out.exists()
    assert not (tmp_path / ".dataset.staging").exists()


def test_a_recording_storage_keeps_failing_is_retried_then_dead(
    make_fleet: MakeFleet, sqlite_url: str, recordings: Recordings, tmp_path: Path, s3_bucket: str,
    s3_client: Any, moto_endpoint: str, proxy_for: Any,
) -> None:
    s3_client.put_object(Bucket=s3_bucket, Key="in/flaky.mcap", Body=(recordings.directory / "r0.mcap").read_bytes())
    proxy = proxy_for(moto_endpoint)
    proxy.add(Fault("status", match=f"GET /{s3_bucket}/in/flaky.mcap", times=100_000, status=503, code="SlowDown"))
    fleet = make_fleet(sqlite_url, AWS_ENDPOINT=proxy.endpoint, AWS_ACCESS_KEY_ID=S3_KEYS.access_key_id,
                       AWS_SECRET_ACCESS_KEY=S3_KEYS.secret_access_key, AWS_REGION="us-east-1")
    fleet.node()
    out = tmp_path / "dataset"
    flaky = f"s3://{s3_bucket}/in/flaky.mcap"
    submit = _submit(fleet, recordings, out, "flaky", flaky, "--max-attempts", "2")

    code, stderr = _finish(fleet, submit)
    assert code == 4, stderr + fleet.log_tail()
    assert_same_dataset(out, recordings)
    (dead,) = [u for u in _units(sqlite_url, "flaky") if u.state is not UnitState.COMPLETE]
    assert dead.state is UnitState.DEAD and dead.attempts == 2 and dead.source_url == flaky
    assert dead.error and "flaky.mcap" in dead.error
    assert f"skipped: {dead.error}" in stderr
