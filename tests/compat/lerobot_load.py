"""Load a dataset in the real ``lerobot`` library and check every item it gives, as training would.

Run it with the python of a separate venv that has lerobot installed (never the project's interpreter)::

    /opt/lerobot04/bin/python tests/compat/lerobot_load.py OUT_DIR [OUT_DIR...]      # v3.0, lerobot 0.4.x
    /opt/lerobot03/bin/python tests/compat/lerobot_load.py OUT_DIR --frames ends     # v2.1, lerobot 0.3.x

Several datasets in one run share the (slow) import of torch and lerobot.

It needs nothing from roboflow. Stages, each reported by name when it fails:

- ``info``: ``meta/info.json`` parses and names a codebase version.
- ``metadata`` / ``dataset``: ``LeRobotDatasetMetadata`` and ``LeRobotDataset(repo_id, root=DIR,
  video_backend=...)`` load offline (HF_HUB_OFFLINE=1, so a missing file fails instead of reaching for the hub).
- ``episodes``: the episode boundaries lerobot computed are contiguous, start at 0, end at ``total_frames``
  and match each episode's ``length``.
- ``items``: every item (``--frames all``) or the first, middle and last of every episode (``ends``) has
  ``index``/``episode_index``/``frame_index``/``timestamp`` consistent with the boundaries and fps, ``task``
  as the task string, every float feature as a float32 tensor of its info.json shape, every camera as a
  float32 ``C,H,W`` frame in [0, 1].
- ``delta``: with ``delta_timestamps`` of -1/0/+1 frame on a vector and every camera, the first and last
  frame of every episode are padded exactly at the episode boundary (what policies like ACT rely on).
- ``stats``: ``meta.stats`` as lerobot loads (0.4) or aggregates (0.3) it, the normalisers' input, has
  finite ``min max mean std`` for every feature, shaped ``(N,)`` for vectors and ``(3, 1, 1)`` for cameras;
  under lerobot 0.4 missing ``q01 q10 q50 q90 q99`` (needed by its QUANTILES normalisation modes) are
  listed in ``warnings``.
- ``dataloader``: a torch ``DataLoader`` batches items (tasks collate to a list of strings).
- ``streaming`` (with ``--streaming``; lerobot 0.4 with a working torchcodec): ``StreamingLeRobotDataset``
  yields every row once with the right episode, frame index and task. Skipped (``streaming_skipped`` says
  why) when a camera's episodes span several video files: lerobot 0.4.4 then seeks by the dataset-global
  index and crashes or returns wrong frames, for its own datasets too (huggingface/lerobot#3080, #4524).

With ``--dump DIR`` the checked items of the n-th dataset are also saved to ``DIR/<n>.npz`` (each camera as
H,W,C uint8, each vector as float32, under ``"<row>|<key>"``) so a caller can compare decoded content with
what it wrote.

Prints one line of JSON per dataset, in argument order (``ok``, versions, episodes, tasks, samples...).
Exit status 0: every check of every dataset passed; 1: a check failed (that dataset's line has
``ok: false``, ``stage`` and ``error``); 2: bad arguments. The checks themselves are in
``lerobot_checks.py`` beside this file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lerobot_checks import (
    CheckError,
    check_dataloader,
    check_delta,
    check_episodes,
    check_item,
    check_stats,
    check_streaming,
    episode_bounds,
    error_chain,
    require,
    sample_indices,
    streaming_obstacle,
    task_table,
)


@dataclass(frozen=True)
class Options:
    """What to check (the command-line options)."""

    frames: str = "all"
    backend: str = "pyav"
    delta: bool = True
    streaming: bool = False
    dump: Path | None = None


def run(root: Path, options: Options) -> dict[str, Any]:
    try:
        info = json.loads((root / "meta" / "info.json").read_text())
        version = info["codebase_version"]
        fps = int(info["fps"])
    except (OSError, ValueError, KeyError) as err:
        raise CheckError("info", f"{root / 'meta' / 'info.json'}: {error_chain(err)}") from err

    import torch
    from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset, LeRobotDatasetMetadata

    summary: dict[str, Any] = {
        "ok": False,
        "dataset": str(root),
        "codebase_version": version,
        "lerobot": importlib.metadata.version("lerobot"),
        "lerobot_codebase_version": CODEBASE_VERSION,
        "torch": torch.__version__,
        "video_backend": options.backend,
    }
    try:
        meta = LeRobotDatasetMetadata(repo_id="local/compat", root=root)
    except Exception as err:
        raise CheckError("metadata", error_chain(err)) from err
    try:
        ds = LeRobotDataset(repo_id="local/compat", root=root, video_backend=options.backend)
    except Exception as err:
        raise CheckError("dataset", error_chain(err)) from err
    features = {key: dict(value) for key, value in ds.meta.features.items()}
    summary["fps"] = fps
    summary["total_episodes"] = ds.meta.total_episodes
    summary["total_frames"] = ds.meta.total_frames
    summary["features"] = {
        key: {"dtype": f["dtype"], "shape": list(f["shape"])} for key, f in features.items()
    }
    require(ds.fps == fps, "dataset", f"lerobot fps {ds.fps} != info.json fps {fps}")

    try:
        episodes = episode_bounds(ds, ds.meta)
        tasks = task_table(ds.meta)
    except Exception as err:
        raise CheckError("episodes", error_chain(err)) from err
    summary["episodes"] = episodes
    summary["tasks"] = {str(index): task for index, task in sorted(tasks.items())}
    check_episodes(episodes, ds.meta.total_frames, len(ds))
    require(
        len(tasks) == meta.total_tasks,
        "episodes",
        f"{len(tasks)} tasks loaded, total_tasks {meta.total_tasks}",
    )

    samples = []
    arrays: dict[str, Any] = {}
    by_row = {row: ep for ep in episodes for row in range(ep["from"], ep["to"])}
    for row in sample_indices(episodes, options.frames):
        try:
            item = ds[row]
        except Exception as err:
            raise CheckError(
                "items", f"item {row} (episode {by_row[row]['episode_index']}): {error_chain(err)}"
            ) from err
        samples.append(check_item(item, row, by_row[row], tasks, features, fps, arrays))
    summary["items_checked"] = len(samples)
    summary["samples"] = samples
    summary["delta_items_checked"] = (
        check_delta(LeRobotDataset, root, options.backend, episodes, features, fps) if options.delta else 0
    )
    summary["warnings"] = check_stats(ds.meta.stats, features, summary["lerobot"])
    summary["dataloader_batch"] = check_dataloader(ds, features)
    summary["streamed_items"] = 0
    summary["streaming_skipped"] = streaming_obstacle(ds.meta) if options.streaming else "not asked"
    if summary["streaming_skipped"] is None:
        summary["streamed_items"] = check_streaming(root, by_row, tasks, features, arrays)
    if options.dump is not None:
        import numpy as np

        np.savez(options.dump, **arrays)
        summary["dump"] = str(options.dump)
    summary["ok"] = True
    return summary


def check_one(root: Path, options: Options) -> dict[str, Any]:
    """The summary of one dataset; a failure becomes ``ok: false`` with its stage and error."""
    try:
        return run(root.resolve(), options)
    except CheckError as err:
        return {"ok": False, "dataset": str(root), "stage": err.stage, "error": str(err)}
    except Exception as err:  # noqa: BLE001 -- lerobot may raise anything: report it whole
        return {
            "ok": False,
            "dataset": str(root),
            "stage": "unexpected",
            "error": error_chain(err),
            "traceback": traceback.format_exc(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("roots", type=Path, nargs="+", help="dataset directories (each holds meta/info.json)")
    parser.add_argument(
        "--frames",
        choices=("all", "ends"),
        default="all",
        help="every item, or first/middle/last of each episode",
    )
    parser.add_argument("--video-backend", default="pyav", help="lerobot video_backend (pyav or torchcodec)")
    parser.add_argument(
        "--dump", type=Path, help="directory for <position>.npz: the checked items' cameras and vectors"
    )
    parser.add_argument("--no-delta", action="store_true", help="skip the delta_timestamps check")
    parser.add_argument(
        "--streaming",
        action="store_true",
        help="also iterate StreamingLeRobotDataset (lerobot 0.4, torchcodec)",
    )
    args = parser.parse_args(argv)
    options = Options(args.frames, args.video_backend, not args.no_delta, args.streaming)
    # Never reach for the hub: a missing file must fail here, not turn into a download.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lerobot-compat-") as home:
        os.environ.setdefault("HF_HOME", home)  # keep the datasets cache out of ~/.cache
        for position, root in enumerate(args.roots):
            dump = None if args.dump is None else args.dump / f"{position}.npz"
            summary = check_one(root, replace(options, dump=dump))
            failed += not summary["ok"]
            print(json.dumps(summary), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
