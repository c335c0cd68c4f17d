"""Key layout."""

from __future__ import annotations

import pytest

from roboflow.coordination import keys
from roboflow.coordination.errors import InvalidIdError
from roboflow.errors import UserError


def test_layout_matches_the_seed() -> None:
    assert keys.batch_key("b1") == "roboflow/batch/b1"
    assert keys.phase_key("b1") == "roboflow/batch/b1/phase"
    assert keys.unit_key("b1", "u1") == "roboflow/batch/b1/units/u1"
    assert keys.units_prefix("b1") == "roboflow/batch/b1/units/"
    assert keys.heartbeat_key("pod-1") == "roboflow/worker/pod-1/heartbeat"
    assert keys.worker_lease_key("pod-1") == "roboflow/worker/pod-1/lock"
    assert keys.checkpoint_key("pod-1") == "roboflow/worker/pod-1/checkpoint"


def test_worker_of_key() -> None:
    assert keys.worker_of_key("roboflow/worker/pod-1/heartbeat") == ("pod-1", "heartbeat")
    assert keys.worker_of_key("roboflow/batch/b/phase") is None
    assert keys.worker_of_key("roboflow/worker/pod-1") is None


@pytest.mark.parametrize("bad", ["", "a/b", "x" * 201, "tab\there"])
def test_invalid_ids_are_user_errors(bad: str) -> None:
    with pytest.raises(InvalidIdError, match="invalid unit id"):
        keys.unit_key("b1", bad)
    assert issubclass(InvalidIdError, UserError)
