"""Celery tasks: thin wrappers that run the pipeline stages under state-store transitions."""

from __future__ import annotations

__all__: list[str] = []
