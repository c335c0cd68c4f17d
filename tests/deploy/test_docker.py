"""The compose file and image (no Docker daemon here): services, commands and environment names."""

from __future__ import annotations

from pathlib import Path

import yaml

from roboflow.fleet.settings import ENV_STAGING_URL

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_runs_the_fleet_services() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "pd", "tikv", "worker", "finalizer", "flower"}
    assert services["redis"]["image"].startswith("redis:")
    assert "noeviction" in services["redis"]["command"]
    assert services["pd"]["image"].startswith("pingcap/pd:")
    assert services["tikv"]["image"].startswith("pingcap/tikv:")
    assert "--pd=pd:2379" in services["tikv"]["command"]
    assert services["worker"]["command"][:3] == ["run", "--role", "worker"]
    assert services["finalizer"]["command"] == ["run", "--role", "finalizer"]
    assert services["flower"]["entrypoint"][:4] == ["celery", "-A", "roboflow", "flower"]
    assert any(arg.startswith("--basic-auth=") for arg in services["flower"]["entrypoint"])


def test_roboflow_services_share_broker_state_and_staging_settings() -> None:
    services = _compose()["services"]
    for name in ("worker", "finalizer", "flower"):
        env = services[name]["environment"]
        assert env["ROBOFLOW_BROKER_URL"] == "redis://redis:6379/0"
        assert env["TIKV_PD_ENDPOINTS"] == "pd:2379"
        assert ENV_STAGING_URL in env
        keys = [key for key in env if "KEY" in key or "SECRET" in key]
        assert keys and all(env[key] == f"${{{key}:-}}" for key in keys)  # credentials only passed through


def test_the_image_installs_the_package_and_runs_roboflow() -> None:
    lines = (DOCKER / "Dockerfile").read_text().splitlines()
    assert lines[1].startswith("FROM python:3.11")
    assert any("pip install" in line and " ." in line for line in lines)
    assert 'ENTRYPOINT ["roboflow"]' in lines
    assert 'CMD ["run"]' in lines
