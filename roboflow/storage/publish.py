"""Publishing a local directory tree (a finished dataset) at a storage prefix, replacing what is there.

Object stores cannot rename, so an existing tree is replaced through a staged copy: the new tree is first
uploaded complete to a hidden sibling prefix (``s3://b/out`` -> ``s3://b/.out.new``), ``last`` keys at the end.
Only then is the old tree unpublished (its ``last`` keys deleted first), the new one uploaded into place
(``last`` keys last), the old tree's other keys deleted and the staged copy removed. So at every moment a complete
tree exists: the old one at the prefix until the staged copy is complete (a failed upload leaves it as it was),
then the staged copy until the new one is in place (an error names it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from roboflow.errors import RoboflowError
from roboflow.storage.base import Storage, StorageOptions
from roboflow.storage.location import open_storage, parse_url
from roboflow.storage.transfer import upload_tree

__all__ = ["publish_tree", "staged_sibling"]


def staged_sibling(url_prefix: str) -> str | None:
    """The hidden sibling a replacement is staged at (``s3://b/data/out`` -> ``s3://b/data/.out.new``); None at a
    bucket root, which has no sibling."""
    location = parse_url(url_prefix)
    if not location.name:
        return None
    return f"{location.parent.url.rstrip('/')}/.{location.name}.new"


def publish_tree(local_dir: Path | str, url_prefix: str, *, last: Sequence[str],
                 options: StorageOptions | None = None) -> None:
    """Upload ``local_dir`` to ``url_prefix``, replacing the objects there (see the module docstring).

    Raises:
        StorageError, TransientStorageError: An upload or delete failed; when the old tree was already
            unpublished, the message names the staged prefix that holds the complete new tree.
    """
    target = open_storage(url_prefix, options)
    old = sorted(info.key for info in target.list())
    staging = staged_sibling(url_prefix) if old else None
    if staging is None:  # nothing to keep (or no place to stage it beside a bucket root)
        _put_in_place(local_dir, url_prefix, target, old, last, options)
        return
    staged = open_storage(staging, options)
    _delete(staged, [info.key for info in staged.list()])  # the remains of an earlier attempt
    try:
        upload_tree(local_dir, staging, last=last, options=options)
    except BaseException:
        _delete_quietly(staged)
        raise
    try:
        _put_in_place(local_dir, url_prefix, target, old, last, options)
    except RoboflowError as err:
        raise type(err)(f"{err.message}; the old dataset was already unpublished, the new one is complete at "
                        f"{staging}", path=err.path or url_prefix,
                        hint=f"run again with --overwrite, or use {staging}") from err
    _delete_quietly(staged)


def _put_in_place(local_dir: Path | str, url_prefix: str, target: Storage, old: list[str], last: Sequence[str],
                  options: StorageOptions | None) -> None:
    """Unpublish the old tree (its ``last`` keys first), upload the new one, delete the old keys it lacks."""
    _delete(target, [key for key in last if key in set(old)])
    new = {result.key for result in upload_tree(local_dir, url_prefix, last=last, options=options)}
    _delete(target, [key for key in old if key not in new])


def _delete(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        storage.delete(key)


def _delete_quietly(storage: Storage) -> None:
    """Best-effort removal of a staged copy (a leftover is removed by the next attempt)."""
    try:
        _delete(storage, [info.key for info in storage.list()])
    except RoboflowError:
        pass
