"""roboflow: robot recordings in, LeRobot datasets out."""

from __future__ import annotations

import os

from roboflow import pandas_guard

__version__ = "0.1.0"

__all__ = ["__version__"]

# pyarrow's default pool (jemalloc) keeps the pages of freed buffers and grows one arena per thread: a
# conversion's peak RSS was ~40 MB higher with it, for no speed we could measure (docs/memory.md). Set before
# pyarrow is first imported, by this process or its workers; an explicit setting of the user's wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# pyarrow would import pandas (~50 MB) on its first conversion, for runs that do not use pandas.
pandas_guard.install()
