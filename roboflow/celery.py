"""The Celery application: ``celery -A roboflow worker -Q convert`` finds ``app`` here.

Settings live in ``celeryconfig.py`` at the project root (``CELERY_CONFIG_MODULE`` switches it). Tasks are
registered from :mod:`roboflow.tasks`; they wrap the same stage functions the local executor calls.
"""

from __future__ import annotations

import os

from celery import Celery

__all__ = ["app"]

app = Celery("roboflow")
app.config_from_object(os.environ.get("CELERY_CONFIG_MODULE", "celeryconfig"))
app.autodiscover_tasks(["roboflow"], related_name="tasks", force=False)
