"""Fixtures of the fleet tests: recordings with ground truth, the `roboflow convert` reference, a fleet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pipeline.pipeline_readback import CAMERAS, CONFIG
from tikv_emulator import Emulator

from roboflow.config import parse_config
from roboflow.pipeline import RunOptions, run_local
from roboflow.synth import SynthSpec, write_recording

from .harness import Fleet, RedisServer
from .readback import Recordings

#: Six recordings in two formats; sorted by path they interleave formats.
NAMES = ("r0.mcap", "r1.bag", "r2.mcap", "r3.bag", "r4.mcap", "r5.bag")


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    root = tmp_path_factory.mktemp("fleet-recordings")
    specs = {}
    for seed, name in enumerate(NAMES):
        spec = SynthSpec(duration_s=2.0, cameras=CAMERAS, seed=seed + 1)
        path = root / "in" / name
        path.parent.mkdir(exist_ok=True)
        write_recording(path, spec, format="mcap" if name.endswith(".mcap") else "ros1")
        specs[str(path)] = spec
    config = root / "config.toml"
    config.write_text(CONFIG)
    reference = root / "reference"
    report = run_local([str(root / "in")], parse_config(CONFIG), reference, RunOptions())
    assert report.exit_status == 0
    return Recordings(root / "in", config, specs, reference)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


MakeFleet = Callable[..., Fleet]


@pytest.fixture(params=["sqlite", "tikv"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'state.db'}"
    emu: Emulator = request.getfixturevalue("emulator")
    return f"tikv://{emu.pd_address}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'state.db'}"


@pytest.fixture
def make_fleet(tmp_path: Path, redis_server: RedisServer) -> Iterator[MakeFleet]:
    fleets: list[Fleet] = []

    def make(state_url: str, **env: str) -> Fleet:
        fleet = Fleet(tmp_path / f"fleet{len(fleets)}", redis_server, state_url, **env)
        fleets.append(fleet)
        return fleet

    yield make
    for fleet in fleets:
        fleet.stop()
