"""Storage benchmark against a local S3 server (moto, in its own process).

Measures, on generated data:

* ranged-read throughput of ``open_seekable`` (10 MB ranges, read sequentially) and its ratio to one
  plain ``GetObject`` of the same bytes, the limit on loopback;
* upload throughput of ``Storage.writer`` (multipart, 8 MiB parts) and its ratio to one plain
  ``PutObject`` of the same bytes, and to boto3 doing the same multipart upload by hand (what the
  protocol costs on this server vs what the writer adds);
* peak RSS of a fresh process reading a 1 GiB object through the seekable reader (goal < 100 MB),
  with a SHA-256 check of every byte, and of the process that wrote it through the writer.

moto answers every ranged GET by reading (and copying) the whole object, so a 10 MB range of a 1 GiB
object costs it a second of work. The server started here therefore serves ranged GETs of moto's
stored objects straight from moto's buffer (``--stock-moto`` turns that off); everything else is moto.

    python3.11 bench/storage.py [--size-mb 256] [--rss-mb 1024] [--stock-moto]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MiB = 1024 * 1024
BUCKET = "bench"
KEYS = ("AKIABENCH", "bench-secret")


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB.

    ``getrusage``'s ``ru_maxrss`` survives ``execve`` on Linux, so a child would report its parent's
    peak; the kernel's per-address-space high-water mark (``VmHWM``) does not, and is used when present.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# -- the server process ------------------------------------------------------------------------------


def serve(port: int, stock: bool) -> None:
    """Run moto's S3 server on ``port``; unless ``stock``, serve ranged GETs from moto's buffers."""
    from urllib.parse import unquote

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.s3.models import s3_backends
    from werkzeug.serving import make_server

    moto_app = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        header = environ.get("HTTP_RANGE", "")
        if (
            stock
            or environ["REQUEST_METHOD"] != "GET"
            or not header.startswith("bytes=")
            or environ.get("QUERY_STRING")
        ):
            return moto_app(environ, start_response)
        bucket_name, _, key_name = unquote(environ["PATH_INFO"]).lstrip("/").partition("/")
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets.get(bucket_name)
        key = bucket.keys.get(key_name) if bucket is not None else None
        first, _, last = header[len("bytes=") :].partition("-")
        if key is None or not first or "," in header:
            return moto_app(environ, start_response)
        start, stop = int(first), min(key.size, int(last) + 1 if last else key.size)
        with key.lock:
            key._value_buffer.seek(start)
            data = key._value_buffer.read(stop - start)
        start_response(
            "206 Partial Content",
            [("Content-Length", str(len(data))), ("Content-Range", f"bytes {start}-{stop - 1}/{key.size}"),
             ("ETag", key.etag), ("Content-Type", "binary/octet-stream")],
        )  # fmt: skip
        return [data]

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def start_server(stock: bool) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, __file__, "--serve", str(port)] + (["--stock-moto"] if stock else [])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, endpoint
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the moto server did not start")


# -- workloads -------------------------------------------------------------------------------------------


def blocks(total: int) -> Iterator[bytes]:
    """``total`` bytes of incompressible data in 1 MiB blocks, generated as needed."""
    base = os.urandom(MiB)
    for index in range(0, total, MiB):
        block = index.to_bytes(8, "little") + base[8:]
        yield block[: min(MiB, total - index)]


def options(endpoint: str) -> Any:
    from roboflow.storage import Credentials, StorageOptions

    return StorageOptions(endpoint=endpoint, region="us-east-1", credentials=Credentials(*KEYS))


def plain_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS[0],
        aws_secret_access_key=KEYS[1],
        config=Config(
            request_checksum_calculation="when_required", response_checksum_validation="when_required"
        ),
    )


def best_times(runs: dict[str, Callable[[], object]], repeat: int = 3) -> dict[str, float]:
    """Best time of each run over ``repeat`` rounds, the runs interleaved in every round.

    The machine is shared: interleaving exposes every run to the same disturbances, and the best of
    several rounds is the least disturbed.
    """
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, func in runs.items():
            start = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def throughput(endpoint: str, size: int) -> dict[str, float]:
    """Upload and ranged-read rates of roboflow.storage vs one plain PUT / GET of the same bytes."""
    from roboflow.storage import open_seekable, open_storage

    client = plain_client(endpoint)
    storage = open_storage(f"s3://{BUCKET}", options(endpoint))
    data = b"".join(blocks(size))

    def plain_get() -> None:
        body = client.get_object(Bucket=BUCKET, Key="plain.bin")["Body"]
        while body.read(MiB):
            pass

    def ranged_get() -> None:
        with open_seekable(f"s3://{BUCKET}/ours.bin", options(endpoint)) as stream:
            while stream.read(MiB):
                pass

    def boto3_multipart() -> None:
        part = options(endpoint).part_size
        upload = client.create_multipart_upload(Bucket=BUCKET, Key="manual.bin")["UploadId"]
        parts = []
        for number, offset in enumerate(range(0, size, part), start=1):
            body = data[offset : offset + part]
            etag = client.upload_part(
                Bucket=BUCKET, Key="manual.bin", UploadId=upload, PartNumber=number, Body=body
            )
            parts.append({"PartNumber": number, "ETag": etag["ETag"]})
        client.complete_multipart_upload(
            Bucket=BUCKET, Key="manual.bin", UploadId=upload, MultipartUpload={"Parts": parts}
        )

    def ours_put() -> None:
        with storage.writer("ours.bin") as out:
            for offset in range(0, size, MiB):
                out.write(data[offset : offset + MiB])

    client.put_object(Bucket=BUCKET, Key="warmup", Body=b"x")  # connections and lazy imports
    storage.exists("warmup")
    results = best_times(
        {
            "plain_put_s": lambda: client.put_object(Bucket=BUCKET, Key="plain.bin", Body=data),
            "boto3_multipart_s": boto3_multipart,
            "ours_put_s": ours_put,
            "plain_get_s": plain_get,
            "ours_get_s": ranged_get,
        },
        repeat=5,
    )
    results = {name: round(value, 3) for name, value in results.items()}
    mb = size / 1e6
    results.update(
        plain_put_mb_s=round(mb / results["plain_put_s"], 1),
        ours_put_mb_s=round(mb / results["ours_put_s"], 1),
        put_ratio=round(results["plain_put_s"] / results["ours_put_s"], 2),
        put_ratio_vs_boto3_multipart=round(results["boto3_multipart_s"] / results["ours_put_s"], 2),
        plain_get_mb_s=round(mb / results["plain_get_s"], 1),
        ours_get_mb_s=round(mb / results["ours_get_s"], 1),
        get_ratio=round(results["plain_get_s"] / results["ours_get_s"], 2),
    )
    return results


def write_big(endpoint: str, size: int) -> dict[str, Any]:
    """Write the RSS object through the writer, streaming; return its digest and this process's peak RSS."""
    from roboflow.storage import open_storage

    storage = open_storage(f"s3://{BUCKET}", options(endpoint))
    digest = hashlib.sha256()
    start = time.perf_counter()
    with storage.writer("big.bin") as out:
        for block in blocks(size):
            digest.update(block)
            out.write(block)
    seconds = time.perf_counter() - start
    return {"sha256": digest.hexdigest(), "write_mb_s": round(size / 1e6 / seconds, 1),
            "writer_peak_rss_mb": round(peak_rss_mb(), 1)}  # fmt: skip


def read_big(endpoint: str) -> dict[str, Any]:
    """In a fresh process: read the RSS object through the seekable reader; report peak RSS."""
    from roboflow.storage import open_seekable, open_storage

    open_storage(f"s3://{BUCKET}", options(endpoint)).exists("big.bin")  # client created, imports done
    baseline = peak_rss_mb()
    digest = hashlib.sha256()
    start = time.perf_counter()
    with open_seekable(f"s3://{BUCKET}/big.bin", options(endpoint)) as stream:
        stream.seek(-4096, os.SEEK_END)  # like an MCAP reader: footer and summary first
        stream.read()
        stream.seek(0)
        while block := stream.read(MiB):
            digest.update(block)
        size = stream.tell()
    seconds = time.perf_counter() - start
    return {"sha256": digest.hexdigest(), "read_mb_s": round(size / 1e6 / seconds, 1),
            "reader_baseline_rss_mb": round(baseline, 1), "reader_peak_rss_mb": round(peak_rss_mb(), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=256, help="object size for the throughput runs")
    parser.add_argument("--rss-mb", type=int, default=1024, help="object size for the RSS run")
    parser.add_argument("--stock-moto", action="store_true", help="let moto serve ranged GETs itself")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--read-big", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.stock_moto)
    if args.read_big:
        print(json.dumps(read_big(args.read_big)))
        return None

    server, endpoint = start_server(args.stock_moto)
    try:
        plain_client(endpoint).create_bucket(Bucket=BUCKET)
        big = write_big(endpoint, args.rss_mb * MiB)  # first: this process's peak RSS is the writer's
        child = subprocess.run(
            [sys.executable, __file__, "--read-big", endpoint], capture_output=True, text=True, check=True
        )
        read = json.loads(child.stdout)
        assert read.pop("sha256") == big.pop("sha256"), "the object read back differs from the one written"
        rates = throughput(endpoint, args.size_mb * MiB)
    finally:
        server.terminate()
        server.wait()
    report = {"server": "moto (stock)" if args.stock_moto else "moto (ranged GETs from its buffer)",
              "throughput_object_mb": args.size_mb, "rss_object_mb": args.rss_mb, **rates, **big, **read}  # fmt: skip
    width = max(map(len, report))
    for name, value in report.items():
        print(f"{name:<{width}}  {value}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
