"""The Celery application: ``celery -A roboflow worker`` finds ``app`` here.

Defaults ship with the package (:mod:`roboflow.fleet.celeryconf`), so the app works after a plain
``pip install`` from any directory; a top-level ``celeryconfig`` module (or the one ``CELERY_CONFIG_MODULE``
names), when importable, overrides them. Tasks are registered from :mod:`roboflow.tasks`.
"""

from __future__ import annotations

import importlib
import os
import types
from typing import Any

from celery import Celery

__all__ = ["app"]


def site_overrides(module_name: str) -> dict[str, Any]:
    """The lowercase settings of ``module_name``, or nothing when it cannot be imported."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        return {}
    return {
        key: value
        for key, value in vars(module).items()
        if key.islower() and not key.startswith("_") and not isinstance(value, types.ModuleType) and not callable(value)
    }


app = Celery("roboflow")
app.config_from_object("roboflow.fleet.celeryconf")
app.conf.update(site_overrides(os.environ.get("CELERY_CONFIG_MODULE", "celeryconfig")))

import roboflow.tasks  # noqa: F401 - registers the tasks on app
