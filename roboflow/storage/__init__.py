"""Storage that users' data lives on: local directories, S3 and Alibaba OSS, behind one protocol.

    storage = open_storage("s3://bucket/datasets/run1")      # or /path, file:///path, oss://bucket/...
    with storage.writer("meta/info.json") as out:            # visible only when the block completes
        out.write(data)
    with open_seekable("oss://bucket/rec/a.mcap") as f:      # ranged reads, nothing downloaded whole
        ...
    with local_copy("s3://bucket/rec/bag_dir") as path:      # a real file/directory when one is needed
        ...

Remote requests are retried with backoff when transient and go through one circuit breaker per
endpoint (:func:`roboflow.resilience.breaker_states` lists them). See ``docs/storage.md``.
"""

from __future__ import annotations

from roboflow.storage.base import Credentials, ObjectInfo, ObjectWriter, Storage, StorageOptions
from roboflow.storage.coordinator import UploadConfig, UploadCoordinator, UploadProgress, UploadResult
from roboflow.storage.location import open_storage, parse_url, split_url
from roboflow.storage.transfer import copy_object, download_tree, local_copy, open_seekable, upload_tree

__all__ = [
    "Credentials",
    "ObjectInfo",
    "ObjectWriter",
    "Storage",
    "StorageOptions",
    "UploadConfig",
    "UploadCoordinator",
    "UploadProgress",
    "UploadResult",
    "copy_object",
    "download_tree",
    "local_copy",
    "open_seekable",
    "open_storage",
    "parse_url",
    "split_url",
    "upload_tree",
]
