"""A state-only conversion imports only what it uses (docs/memory.md): no pandas, pyarrow.dataset, pyarrow.compute.

Together ~75 MB of RSS, half of such a conversion's peak. The conversion runs in a fresh interpreter, whose
modules at exit are the run's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from pipeline_readback import VECTOR_MAPPINGS

from roboflow.synth import SynthSpec, write_recording

CONFIG = """
[dataset]
name = "state"
fps = 30
task = "wave"
""" + VECTOR_MAPPINGS
#: Modules a local state-only conversion has no use for; a name ending in "." stands for its package.
UNUSED = ("pandas.", "pyarrow.dataset", "pyarrow.compute", "celery.", "redis.", "boto3.", "oss2.", "tikv_client.",
          "rerun.")
CONVERT = """
import sys
from roboflow.cli import main
try:
    main(sys.argv[1:])
except SystemExit as end:
    assert not end.code, end.code
print(" ".join(sorted(sys.modules)))
"""


def test_state_only_conversion_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    write_recording(tmp_path / "state.mcap", SynthSpec(duration_s=3, cameras=()))
    (tmp_path / "state.toml").write_text(CONFIG)
    out = tmp_path / "out"
    args = ["convert", str(tmp_path / "state.mcap"), "-c", str(tmp_path / "state.toml"), "-o", str(out),
            "--no-progress"]
    done = subprocess.run([sys.executable, "-c", CONVERT, *args], capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    modules = done.stdout.splitlines()[-1].split()
    assert "pyarrow.parquet" in modules and "roboflow.lerobot.v30" in modules  # the run did convert
    unused = [m for m in modules if any(m == u or m.startswith(u) or m == u.rstrip(".") for u in UNUSED)]
    assert unused == []
    tasks = pd.read_parquet(out / "meta/tasks.parquet")
    assert list(tasks.index) == ["wave"]
    assert tasks["task_index"].tolist() == [0]
