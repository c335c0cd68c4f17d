"""Open a state store from a URL: ``sqlite:///path/state.db`` or ``tikv://pd1:2379,pd2:2379``.

Backends are looked up in a scheme registry of lazy ``"module:Class"`` strings, so opening a SQLite store
never imports the TiKV client. Without a URL, :func:`state_url_from_env` decides.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from roboflow.coordination.store import StateStore
from roboflow.errors import ConfigError

__all__ = ["ENV_STATE_URL", "STORES", "open_store", "state_url_from_env"]

#: The state-store URL, if set (wins over ``TIKV_PD_ENDPOINTS``).
ENV_STATE_URL = "ROBOFLOW_STATE_URL"

#: URL scheme → ``module:Class`` with a ``from_url(url, *, config=...)`` constructor.
STORES: dict[str, str] = {
    "sqlite": "roboflow.coordination.sqlite:SqliteStore",
    "tikv": "roboflow.coordination.tikv:TikvStore",
}


def state_url_from_env() -> str:
    """``$ROBOFLOW_STATE_URL``; else ``tikv://$TIKV_PD_ENDPOINTS``; else a SQLite file for one machine.

    The SQLite default is ``$XDG_STATE_HOME/roboflow/state.db`` (``~/.local/state/roboflow/state.db``).
    """
    url = os.environ.get(ENV_STATE_URL, "").strip()
    if url:
        return url
    endpoints = os.environ.get("TIKV_PD_ENDPOINTS", "").strip()
    if endpoints:
        return f"tikv://{endpoints}"
    state_home = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return f"sqlite://{(state_home / 'roboflow' / 'state.db').resolve()}"


def open_store(url: str | None = None, **options: Any) -> StateStore:
    """The store for ``url`` (default: :func:`state_url_from_env`); ``options`` go to its ``from_url``.

    Raises:
        ConfigError: The scheme is unknown or the URL is malformed.
    """
    url = url or state_url_from_env()
    scheme = urlsplit(url).scheme
    target = STORES.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(STORES))
        raise ConfigError(f"unknown state-store URL scheme {scheme!r} in {url!r}", hint=f"use one of {known}")
    module_name, _, class_name = target.partition(":")
    store_cls = getattr(importlib.import_module(module_name), class_name)
    store: StateStore = store_cls.from_url(url, **options)
    return store
