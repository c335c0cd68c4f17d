"""Open a work item's recording wherever it is, with the hash of its provenance running alongside.

* a local file or bag directory is read in place; a thread hashes it beside the converter;
* a remote object (``s3://``, ``oss://``) is read through ranged GETs (a storage's seekable reader):
  MCAP files and ROS1 bags seek to their indexes and chunks, and the ranges they fetch are hashed as they are
  read, so nothing is downloaded whole and nothing twice. Formats whose library needs a real file (rosbag2
  ``.db3``, file-level zstd, ``.rrd``) are spooled to a temporary file by their source, from the same stream;
* a remote prefix (a rosbag2 bag directory) is downloaded to a temporary directory
  (:func:`roboflow.storage.local_copy`), hashed there and deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from roboflow.provenance import BackgroundHash, SourceHash, StreamHash
from roboflow.sources import Clock, Source, open_source
from roboflow.storage import StorageOptions, local_copy, parse_url, split_url
from roboflow.storage.ranged import RangedReader

__all__ = ["open_recording"]


@contextmanager
def open_recording(url: str, options: StorageOptions | None = None,
                   clock: Clock | None = None) -> Iterator[tuple[Source, SourceHash]]:
    """The opened recording at ``url`` (a local path or a storage URL) and the hash of its provenance.

    ``clock`` is the config's choice of timeline (Rerun recordings). Call ``hash.result()`` inside the block (a remote hash may read what the converter skipped). The hash is
    cancelled when the block ends.

    Raises:
        SourceError: The recording cannot be read.
        StorageError: Nothing exists at a remote URL, or the store refuses it.
        TransientStorageError: The store kept failing.
    """
    location = parse_url(url)
    if location.scheme == "file":
        with (
            _hashed(BackgroundHash(location.path)) as hasher,
            open_source(location.path, name=url, clock=clock) as source,
        ):
            yield source, hasher
        return
    storage, key = split_url(url, options)
    if storage.exists(key):
        with storage.seekable_reader(key) as stream:
            assert isinstance(stream, RangedReader)  # what remote backends hand out
            with _hashed(StreamHash(url, stream)) as hasher, open_source(stream, name=url, clock=clock) as source:
                yield source, hasher
        return
    with (
        local_copy(url, options) as path,
        _hashed(BackgroundHash(path, url=url)) as hasher,
        open_source(path, name=url, clock=clock) as source,
    ):
        yield source, hasher


@contextmanager
def _hashed(hasher: SourceHash) -> Iterator[SourceHash]:
    try:
        yield hasher
    finally:
        hasher.cancel()
