"""Site overrides of roboflow's Celery settings (``roboflow/fleet/celeryconf.py`` holds the defaults).

``roboflow.celery`` applies the lowercase settings of this module when it can be imported (the worker's
working directory or ``PYTHONPATH``; ``CELERY_CONFIG_MODULE`` names another module). Copy it next to your
workers and change what your site needs; everything else keeps the package's defaults.
"""

from __future__ import annotations

import os

#: Restart a worker child that grew past this many KB (a safety net; memory is bounded by [flushing]).
worker_max_memory_per_child = int(os.environ.get("ROBOFLOW_MAX_MEMORY_PER_CHILD_KB", "8000000"))
