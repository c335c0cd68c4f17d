"""OSS backend: oss2 against the OSS-protocol test server on loopback."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable

import pytest

from roboflow.errors import ConfigError, StorageError
from roboflow.storage import Credentials, open_seekable, open_storage

from .conftest import FAST, OSS_KEYS, MiB, oss_options
from .servers.fault_proxy import FaultProxy, request_kind
from .servers.oss_server import OssServer, StoredObject

ProxyFor = Callable[[str], FaultProxy]


def test_seek_to_end_fetches_only_the_last_range(oss_server: OssServer, oss_bucket: str) -> None:
    data = os.urandom(25 * MiB)
    oss_server.buckets[oss_bucket]["big.bin"] = StoredObject(data)
    before = oss_server.stats["body bytes"]
    with open_seekable(
        f"oss://{oss_bucket}/big.bin", oss_options(oss_server.endpoint, range_size=10 * MiB)
    ) as f:
        f.seek(-100, io.SEEK_END)
        assert f.read() == data[-100:]
        assert oss_server.stats["body bytes"] - before == 5 * MiB


def test_listing_paginates_past_1000_keys_with_url_encoded_xml(
    oss_server: OssServer, oss_bucket: str, proxy_for: ProxyFor
) -> None:
    keys = [f"shards/{i:05d} ü&<x>.parquet" for i in range(1003)]  # XML- and URL-hostile names
    for key in keys:
        oss_server.buckets[oss_bucket][key] = StoredObject(key.encode())
    oss_server.buckets[oss_bucket]["shards-other"] = StoredObject(b"")
    proxy = proxy_for(oss_server.endpoint)
    # a 1000-key page took over FAST's 2 s read timeout on a loaded machine
    storage = open_storage(f"oss://{oss_bucket}/shards", oss_options(proxy.endpoint, read_timeout=10.0))
    found = list(storage.list())
    assert [info.key for info in found] == [key.removeprefix("shards/") for key in keys]
    assert [info.size for info in found] == [len(key.encode()) for key in keys]
    assert [request_kind(r) for r in proxy.requests] == ["list", "list"]


def test_multipart_upload_with_crc_checks(
    oss_server: OssServer, oss_bucket: str, proxy_for: ProxyFor
) -> None:
    proxy = proxy_for(oss_server.endpoint)
    storage = open_storage(f"oss://{oss_bucket}/out", oss_options(proxy.endpoint, part_size=256 * 1024))
    data = os.urandom(1 * MiB + 5)
    with storage.writer("ep.parquet") as out:
        out.write(data)
    assert [request_kind(r) for r in proxy.requests] == ["initiate"] + ["part"] * 5 + ["complete"]
    stored = oss_server.buckets[oss_bucket]["out/ep.parquet"]
    assert stored.data == data and stored.kind == "Multipart"
    assert not oss_server.uploads


def test_aborted_write_aborts_the_multipart_upload(oss_server: OssServer, oss_bucket: str) -> None:
    storage = open_storage(f"oss://{oss_bucket}", oss_options(oss_server.endpoint, part_size=128 * 1024))
    with pytest.raises(KeyboardInterrupt), storage.writer("x.bin") as out:
        out.write(os.urandom(300 * 1024))
        assert any(upload.bucket == oss_bucket for upload in oss_server.uploads.values())
        raise KeyboardInterrupt  # even a Ctrl-C leaves nothing behind
    assert not any(upload.bucket == oss_bucket for upload in oss_server.uploads.values())
    assert oss_server.buckets[oss_bucket] == {}


def test_unknown_access_key_is_permanent_and_says_what_to_fix(
    oss_server: OssServer, oss_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # oss2's own debug logging included
    wrong = Credentials("LTAIwrongkey", "oss-wrong-secret-Never-Shown")
    storage = open_storage(f"oss://{oss_bucket}", oss_options(oss_server.endpoint, credentials=wrong))
    with pytest.raises(StorageError, match="access key not known.*OSS_ACCESS_KEY_ID") as error:
        storage.exists("a")
    assert "oss-wrong-secret-Never-Shown" not in str(error.value) + caplog.text
    assert "LTAIwrongkey" not in str(error.value)


def test_missing_bucket(oss_server: OssServer) -> None:
    storage = open_storage("oss://no-such-bucket-here/x", oss_options(oss_server.endpoint))
    with pytest.raises(StorageError, match="bucket does not exist.*OSS_ENDPOINT"):
        list(storage.list())


def test_configuration_from_environment(
    oss_server: OssServer, oss_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OSS_ENDPOINT", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no OSS endpoint.*OSS_ENDPOINT"):
        open_storage(f"oss://{oss_bucket}", FAST)
    monkeypatch.setenv("OSS_ENDPOINT", oss_server.endpoint)
    with pytest.raises(ConfigError, match="no OSS credentials.*OSS_ACCESS_KEY_SECRET"):
        open_storage(f"oss://{oss_bucket}", FAST)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", OSS_KEYS.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", OSS_KEYS.secret_access_key)
    storage = open_storage(f"oss://{oss_bucket}", FAST)
    with storage.writer("env.txt") as out:
        out.write(b"from env")
    assert oss_server.buckets[oss_bucket]["env.txt"].data == b"from env"


def test_part_size_below_oss_minimum_is_refused(oss_server: OssServer, oss_bucket: str) -> None:
    with pytest.raises(StorageError, match="below OSS's minimum"):
        open_storage(f"oss://{oss_bucket}", oss_options(oss_server.endpoint, part_size=1024))


@pytest.mark.parametrize(("region", "scheme"), [(None, "OSS"), ("cn-hangzhou", "OSS4-HMAC-SHA256")])
def test_signature_version_follows_the_region(
    oss_server: OssServer, oss_bucket: str, region: str | None, scheme: str
) -> None:
    storage = open_storage(f"oss://{oss_bucket}", oss_options(oss_server.endpoint, region=region))
    before = oss_server.stats[f"auth {scheme}"]
    with storage.writer("signed.txt") as out:
        out.write(b"signed")
    assert storage.size("signed.txt") == 6
    assert oss_server.stats[f"auth {scheme}"] - before == 2
