"""S3 backend against moto's S3 server on loopback: ranged reads, pagination, multipart, aborts."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from roboflow.errors import StorageError, TransientStorageError
from roboflow.storage import open_seekable, open_storage

from .conftest import FAST, S3_KEYS, MiB, s3_options
from .servers.fault_proxy import Fault, FaultProxy, request_kind

ProxyFor = Callable[[str], FaultProxy]


def put(client: Any, bucket: str, key: str, data: bytes) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=data)


def test_seek_to_end_fetches_only_the_last_range(
    s3_client: Any, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    data = os.urandom(25 * MiB)
    put(s3_client, s3_bucket, "big.bin", data)
    proxy = proxy_for(moto_endpoint)
    options = s3_options(proxy.endpoint, range_size=10 * MiB)  # the default range size
    with open_seekable(f"s3://{s3_bucket}/big.bin", options) as stream:
        stream.seek(-100, io.SEEK_END)
        assert stream.read() == data[-100:]
        assert proxy.body_bytes == 5 * MiB  # the aligned block [20 MiB, 25 MiB), nothing else
        assert [r.split()[0] for r in proxy.requests] == ["HEAD", "GET"]
        stream.seek(-2000, io.SEEK_END)
        assert stream.read(1000) == data[-2000:-1000]
        assert proxy.body_bytes == 5 * MiB  # served from the cached range
        stream.seek(12 * MiB)
        assert stream.read(10) == data[12 * MiB : 12 * MiB + 10]
        assert proxy.body_bytes == 15 * MiB


def test_mcap_summary_is_read_without_fetching_the_recording(
    s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    storage = open_storage(f"s3://{s3_bucket}/rec", s3_options(moto_endpoint))
    with storage.writer("run.mcap") as out:  # the mcap writer streams straight into a multipart upload
        writer = Writer(out, chunk_size=256 * 1024, compression=CompressionType.NONE)
        writer.start()
        schema = writer.register_schema("Blob", "jsonschema", b"{}")
        channels = [writer.register_channel(f"/cam{i}", "json", schema) for i in range(3)]
        for index in range(1500):
            writer.add_message(channels[index % 3], index, os.urandom(4000), index)
        writer.finish()
    size = storage.size("run.mcap")
    assert size > 5 * MiB  # more than one part: a multipart upload
    proxy = proxy_for(moto_endpoint)
    options = s3_options(proxy.endpoint, range_size=256 * 1024)
    with open_seekable(f"s3://{s3_bucket}/rec/run.mcap", options) as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None and summary.statistics is not None
    assert summary.statistics.message_count == 1500
    assert sorted(c.topic for c in summary.channels.values()) == ["/cam0", "/cam1", "/cam2"]
    assert proxy.body_bytes <= 2 * 256 * 1024 < size / 10


def test_real_recording_streams_from_s3(s3_bucket: str, moto_endpoint: str, recordings: Path) -> None:
    source = recordings / "rosbags_rs" / "test_bag_mcap" / "test_bag_mcap.mcap"
    storage = open_storage(f"s3://{s3_bucket}", s3_options(moto_endpoint, range_size=64 * 1024))
    with storage.writer("bags/test_bag_mcap.mcap") as out, source.open("rb") as local:
        out.write(local.read())
    with open_seekable(f"s3://{s3_bucket}/bags/test_bag_mcap.mcap", s3_options(moto_endpoint)) as stream:
        messages = list(make_reader(stream).iter_messages())
    assert len(messages) == 188
    assert len({channel.topic for _, channel, _ in messages}) == 94


def test_listing_paginates_past_1000_keys(
    s3_client: Any, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    keys = [f"shards/{i:05d}.parquet" for i in range(1005)]
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]  # fill moto's store directly: 1005 PUTs take ~10 s
    for key in keys:
        backend.put_object(s3_bucket, key, key.encode())
    put(s3_client, s3_bucket, "other/x", b"")
    proxy = proxy_for(moto_endpoint)
    slow = 10.0  # a 1000-key page from moto took over FAST's 2 s on a loaded machine
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint, read_timeout=slow))
    found = list(storage.list("shards/"))
    assert [info.key for info in found] == keys
    assert all(info.size == len(info.key) for info in found)
    assert len(proxy.requests) == 2  # 1000 + 5
    small_pages = open_storage(f"s3://{s3_bucket}/shards", s3_options(proxy.endpoint, page_size=300, read_timeout=slow))
    assert len(list(small_pages.list())) == 1005
    assert len(proxy.requests) == 2 + 4


def test_large_object_is_a_multipart_upload(
    s3_client: Any, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    proxy = proxy_for(moto_endpoint)
    storage = open_storage(f"s3://{s3_bucket}/out", s3_options(proxy.endpoint))
    data = os.urandom(11 * MiB)
    with storage.writer("video.mp4") as out:
        for offset in range(0, len(data), 256 * 1024):  # the seed's 256 KB write chunks
            out.write(data[offset : offset + 256 * 1024])
    assert [request_kind(r) for r in proxy.requests] == ["initiate", "part", "part", "part", "complete"]
    head = s3_client.head_object(Bucket=s3_bucket, Key="out/video.mp4")
    assert head["ETag"].strip('"').endswith("-3")
    assert s3_client.get_object(Bucket=s3_bucket, Key="out/video.mp4")["Body"].read() == data


def test_small_object_is_one_put(s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor) -> None:
    proxy = proxy_for(moto_endpoint)
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint))
    with storage.writer("meta/info.json") as out:
        out.write(b"x" * 5 * MiB)  # exactly one part size: still one PUT
    assert proxy.requests == [f"PUT /{s3_bucket}/meta/info.json"]


def test_aborted_write_aborts_the_multipart_upload(
    s3_client: Any, s3_bucket: str, moto_endpoint: str
) -> None:
    storage = open_storage(f"s3://{s3_bucket}", s3_options(moto_endpoint))
    with pytest.raises(ValueError, match="encoder crashed"), storage.writer("episode.parquet") as out:
        out.write(os.urandom(12 * MiB))
        assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")
        raise ValueError("encoder crashed")
    assert not s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")
    assert "Contents" not in s3_client.list_objects_v2(Bucket=s3_bucket)


def test_dropped_writer_is_aborted_not_committed(s3_client: Any, s3_bucket: str, moto_endpoint: str) -> None:
    storage = open_storage(f"s3://{s3_bucket}", s3_options(moto_endpoint))
    out = storage.writer("dropped.bin")
    out.write(os.urandom(6 * MiB))
    del out  # never closed: garbage collection must not publish half an object
    assert not storage.exists("dropped.bin")
    assert not s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")


def test_only_our_retries_count(
    s3_client: Any, s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor
) -> None:
    put(s3_client, s3_bucket, "a.bin", b"abc")
    proxy = proxy_for(moto_endpoint)
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint, retries=2, breaker_failures=100))
    proxy.add(Fault("status", match="GET", status=503, code="SlowDown", times=10))
    with (
        storage.reader("a.bin") as stream,
        pytest.raises(TransientStorageError, match="SlowDown.*after 3 attempts"),
    ):
        stream.read()
    assert sum(r.startswith("GET") for r in proxy.requests) == 3  # botocore added none of its own


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "AccessDenied", "access denied.*AWS_ACCESS_KEY_ID"),
        (403, "SignatureDoesNotMatch", "signature rejected.*AWS_SECRET_ACCESS_KEY"),
        (404, "NoSuchBucket", "bucket does not exist.*AWS_ENDPOINT"),
    ],
)
def test_permanent_errors_are_not_retried_and_say_what_to_fix(
    s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor, status: int, code: str, message: str
) -> None:
    proxy = proxy_for(moto_endpoint)
    proxy.add(Fault("status", status=status, code=code))
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint))
    with pytest.raises(StorageError, match=message):
        list(storage.list())
    assert len(proxy.requests) == 1


def test_no_secret_in_errors_or_logs(
    s3_bucket: str, moto_endpoint: str, proxy_for: ProxyFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's own debug logging included
    proxy = proxy_for(moto_endpoint)
    storage = open_storage(f"s3://{s3_bucket}", s3_options(proxy.endpoint))
    proxy.add(Fault("status", status=403, code="AccessDenied"))
    with pytest.raises(StorageError) as permanent:
        storage.size("x")
    proxy.down = True
    with pytest.raises(TransientStorageError) as transient:
        storage.exists("x")
    messages = (
        f"{permanent.value}\n{transient.value}\n{permanent.value!r}\n{storage.url}\n{s3_options('e')!r}"
    )
    assert S3_KEYS.secret_access_key not in messages + caplog.text
    assert S3_KEYS.access_key_id not in messages


def test_credentials_and_endpoint_from_environment(
    s3_client: Any, s3_bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS.secret_access_key)
    put(s3_client, s3_bucket, "env.txt", b"from env")
    storage = open_storage(f"s3://{s3_bucket}", FAST)
    with storage.reader("env.txt") as stream:
        assert stream.read() == b"from env"


def test_part_size_below_s3_minimum_is_refused(s3_bucket: str, moto_endpoint: str) -> None:
    with pytest.raises(StorageError, match="below S3's minimum"):
        open_storage(f"s3://{s3_bucket}", s3_options(moto_endpoint, part_size=MiB))
