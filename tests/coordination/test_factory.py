"""Opening stores from URLs and the environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tikv_emulator import Emulator

from roboflow.coordination.factory import open_store, state_url_from_env
from roboflow.coordination.sqlite import SqliteStore
from roboflow.coordination.store import run_transaction
from roboflow.coordination.tikv import TikvStore, parse_endpoints
from roboflow.errors import ConfigError


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = open_store(f"sqlite://{tmp_path}/a/state.db")
    assert isinstance(absolute, SqliteStore) and absolute.path == tmp_path / "a" / "state.db"
    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite://rel/state.db")
    assert isinstance(relative, SqliteStore) and relative.path == tmp_path / "rel" / "state.db"
    run_transaction(relative, lambda txn: txn.put("k", b"v"))
    assert (tmp_path / "rel" / "state.db").is_file()
    with pytest.raises(ConfigError, match="in-memory SQLite"):
        open_store("sqlite://:memory:")


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown state-store URL scheme 'redis'.*sqlite://, tikv://"):
        open_store("redis://localhost:6379/0")


def test_tikv_url_and_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"tikv://{emulator.pd_address},127.0.0.1:1")
    assert isinstance(store, TikvStore) and store.endpoints == [emulator.pd_address, "127.0.0.1:1"]
    monkeypatch.setenv("TIKV_PD_ENDPOINTS", emulator.pd_address)
    from_env = open_store("tikv://")
    assert isinstance(from_env, TikvStore)
    run_transaction(from_env, lambda txn: txn.put("k", b"v"))
    assert run_transaction(from_env, lambda txn: txn.get("k"), readonly=True) == b"v"
    from_env.close()
    monkeypatch.delenv("TIKV_PD_ENDPOINTS")
    with pytest.raises(ConfigError, match="no PD endpoints"):
        open_store("tikv://")


def test_opening_a_sqlite_store_does_not_import_the_tikv_client(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys; from roboflow.coordination import open_store; "
        f"open_store('sqlite://{tmp_path}/s.db'); print('tikv_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_state_url_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROBOFLOW_STATE_URL", "sqlite:///x.db")
    monkeypatch.setenv("TIKV_PD_ENDPOINTS", "pd:2379")
    assert state_url_from_env() == "sqlite:///x.db"
    monkeypatch.delenv("ROBOFLOW_STATE_URL")
    assert state_url_from_env() == "tikv://pd:2379"
    monkeypatch.delenv("TIKV_PD_ENDPOINTS")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_url_from_env() == f"sqlite://{tmp_path}/roboflow/state.db"


def test_parse_endpoints() -> None:
    assert parse_endpoints(" pd1:2379, http://pd2:2379 ,") == ["pd1:2379", "pd2:2379"]
