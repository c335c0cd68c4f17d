"""Write a small dataset with the real ``lerobot`` library, as a user recording with it would.

Run it with the python of a lerobot venv (never the project's interpreter); it needs nothing from roboflow::

    /opt/lerobot04/bin/python tests/compat/lerobot_write.py JOB.json [JOB.json...]    # v3.0, lerobot 0.4.x
    /opt/lerobot03/bin/python tests/compat/lerobot_write.py JOB.json [JOB.json...]    # v2.1, lerobot 0.3.x

``JOB.json`` holds ``root`` (the dataset directory to create), ``fps``, ``robot_type``, ``features`` (lerobot's
feature dicts, without its default columns), ``tasks`` (one list of task strings per episode, one per frame),
``strings`` (values of ``string`` features, one list per feature over all frames) and ``arrays`` (an ``.npz``
with one array per other feature over all frames: images ``(N, H, W, 3)`` uint8, numbers ``(N, *shape)``).
Every frame goes through ``LeRobotDataset.create`` + ``add_frame`` + ``save_episode`` (+ ``finalize`` where
it exists). Several jobs in one run share the (slow) import of torch and lerobot. Prints one JSON line per
job: the lerobot version and the root.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def write(job: dict[str, Any]) -> None:
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {
        key: {**feature, "shape": tuple(feature["shape"])} for key, feature in job["features"].items()
    }
    options: dict[str, Any] = {}
    if "vcodec" in inspect.signature(LeRobotDataset.create).parameters:
        options["vcodec"] = job.get("vcodec", "libsvtav1")
    dataset = LeRobotDataset.create(
        repo_id="local/written",
        fps=job["fps"],
        features=features,
        root=job["root"],
        robot_type=job["robot_type"],
        use_videos=any(f["dtype"] == "video" for f in features.values()),
        **options,
    )
    task_in_frame = "task" not in inspect.signature(dataset.add_frame).parameters  # lerobot >= 0.4
    with np.load(job["arrays"]) as arrays:
        row = 0
        for episode in job["tasks"]:
            for task in episode:
                frame: dict[str, Any] = {key: arrays[key][row] for key in arrays.files}
                frame.update({key: values[row] for key, values in job["strings"].items()})
                if task_in_frame:
                    dataset.add_frame({**frame, "task": task})
                else:
                    dataset.add_frame(frame, task=task)
                row += 1
            dataset.save_episode()
    if hasattr(dataset, "finalize"):
        dataset.finalize()


def main(argv: list[str]) -> int:
    os.environ["HF_HUB_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory(prefix="lerobot-write-") as home:
        os.environ.setdefault("HF_HOME", home)
        for name in argv[1:]:
            job = json.loads(Path(name).read_text())
            write(job)
            print(
                json.dumps({"lerobot": importlib.metadata.version("lerobot"), "root": job["root"]}),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
