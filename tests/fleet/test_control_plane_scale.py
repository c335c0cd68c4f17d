"""Many simulated workers on one batch (the small version of bench/fleet_scale.py): no unit lost or done twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from tikv_emulator import Emulator

from .simulation import simulate


@pytest.mark.parametrize(("kind", "units", "workers"), [("sqlite", 1000, 40), ("tikv", 200, 20)])
def test_every_unit_is_claimed_and_completed_exactly_once(kind: str, units: int, workers: int, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    if kind == "sqlite":
        url = f"sqlite://{tmp_path / 'state.db'}"
    else:
        emulator: Emulator = request.getfixturevalue("emulator")
        url = f"tikv://{emulator.pd_address}"
    result = simulate(url, units=units, workers=workers, processes=2)
    assert result.claims == result.complete == units
    assert result.lost == 0
    assert result.turned_away == len(range(0, units, 20))  # every redelivered message turned away
    # recorded in transactions of a few hundred units, not one per unit nor one for all
    assert units // 256 <= result.record_transactions <= units // 256 + 2
