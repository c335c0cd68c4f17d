"""Telling a machine's problem from a recording's, wherever it surfaced."""

from __future__ import annotations

import errno
import resource
from pathlib import Path

from roboflow.errors import CircuitOpenError, DatasetError, ResourceError, SourceError
from roboflow.pipeline.environment import EnvironmentProblem, environment_problem, free_bytes, gigabytes


def test_a_full_disk_is_found_behind_an_encoder_error(tmp_path: Path) -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as err:
            raise DatasetError(f"camera x: encoder failed: {err!r}", path="/s/videos/x.mp4") from err
    except DatasetError as wrapped:
        problem = environment_problem(wrapped, [tmp_path])
    assert problem is not None and problem.kind == "full" and problem.path == str(tmp_path)
    error = problem.error(free_bytes(tmp_path) + 3 * 10**9)
    assert isinstance(error, ResourceError)
    assert str(error).startswith(f"{tmp_path}: no space left on device (free 3.0 GB on /")
    text_only = DatasetError("camera x: encoder failed: OSError(28, 'No space left on device')")
    assert environment_problem(text_only, [tmp_path]) is not None


def test_a_file_past_the_file_size_limit_stops_the_run(tmp_path: Path) -> None:
    err = OSError(errno.EFBIG, "File too large", str(tmp_path / "staging" / "samples.bin"))
    problem = environment_problem(err, [tmp_path / "staging", tmp_path])
    assert problem is not None and (problem.kind, problem.path) == ("limit", str(tmp_path / "staging"))
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    fix = ("write to a file system that takes larger files" if soft == resource.RLIM_INFINITY
           else f"raise the file size limit set by ulimit -f, now {soft} bytes")
    assert str(problem.error()) == (f"{tmp_path / 'staging'}: file too large ({fix}, then run the same command "
                                    "again: it resumes)")
    text_only = DatasetError("camera x: encoder failed: OSError(27, 'File too large')")
    assert environment_problem(text_only, [tmp_path]) == EnvironmentProblem("limit", str(tmp_path), "file too large")


def test_permission_counts_only_where_the_run_writes(tmp_path: Path) -> None:
    inside = OSError(errno.EACCES, "Permission denied", str(tmp_path / "staging" / "x"))
    outside = OSError(errno.EACCES, "Permission denied", "/data/recording.mcap")
    problem = environment_problem(inside, [tmp_path / "staging", tmp_path])
    assert problem is not None and (problem.kind, problem.path) == ("refused", str(tmp_path / "staging"))
    assert environment_problem(outside, [tmp_path]) is None
    assert environment_problem(SourceError("truncated chunk", path="/data/a.mcap"), [tmp_path]) is None


def test_an_open_circuit_breaker_stops_the_run() -> None:
    problem = environment_problem(CircuitOpenError("3 failures, retry in 30 s", path="s3://b/out"), [])
    assert problem is not None and problem.kind == "unavailable"
    assert "wait until the store is reachable" in str(problem.error())


def test_gigabytes_round_up_to_a_tenth() -> None:
    assert [gigabytes(n) for n in (0, 1, 10**8, 10**8 + 1, 2_340_000_000)] == ["0.1", "0.1", "0.1", "0.2", "2.4"]
