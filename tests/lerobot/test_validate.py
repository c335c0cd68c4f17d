"""validate_dataset and `roboflow validate`: valid datasets pass, every broken invariant is named."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from roboflow.cli import main
from roboflow.lerobot.validate import Problem, validate_dataset

FRONT_V30 = "videos/observation.images.front/chunk-000/file-000.mp4"
DATA_V30 = "data/chunk-000/file-000.parquet"
EPISODES_V30 = "meta/episodes/chunk-000/file-000.parquet"
DATA_V21 = "data/chunk-000/episode_000001.parquet"
FRONT_V21 = "videos/chunk-000/observation.images.front/episode_000001.mp4"


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("valid")
    return {fmt: kit.write(root / fmt, kit.three_episodes, format=fmt) for fmt in ("v3.0", "v2.1")}


def broken(valid: dict[str, Path], fmt: str, tmp_path: Path, change: Callable[[Path], None]) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(valid[fmt], copy)
    change(copy)
    return copy


def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def edit_info(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        def inner(info: dict[str, Any]) -> dict[str, Any]:
            change(info)
            return info

        edit_json(root / "meta/info.json", inner)

    return apply


def edit_column(
    relpath: str, column: str, change: Callable[[np.ndarray], np.ndarray]
) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        table = pq.read_table(root / relpath)
        values = change(table.column(column).to_numpy().copy())
        index = table.schema.get_field_index(column)
        pq.write_table(table.set_column(index, table.schema.field(index), pa.array(values)), root / relpath)

    return apply


def edit_jsonl(relpath: str, line: int, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        rows = [json.loads(text) for text in (root / relpath).read_text().splitlines()]
        change(rows[line])
        (root / relpath).write_text("".join(json.dumps(row) + "\n" for row in rows))

    return apply


def plus(offset: float, start: int) -> Callable[[np.ndarray], np.ndarray]:
    def apply(values: np.ndarray) -> np.ndarray:
        values[start:] = values[start:] + np.asarray(offset, dtype=values.dtype)
        return values

    return apply


def truncate(relpath: str, keep: int | None = None) -> Callable[[Path], None]:
    """Cut the file to ``keep`` bytes (default: half)."""

    def apply(root: Path) -> None:
        data = (root / relpath).read_bytes()
        (root / relpath).write_bytes(data[: len(data) // 2 if keep is None else keep])

    return apply


def delete(relpath: str) -> Callable[[Path], None]:
    return lambda root: (root / relpath).unlink()


def tasks_as_columns(root: Path) -> None:
    frame = pd.DataFrame({"task_index": [0, 1, 2], "task": ["pick cube", "place cube", "wave"]})
    frame.to_parquet(root / "meta/tasks.parquet", index=False)


def image_stats_flat(root: Path) -> None:
    def change(stats: dict[str, Any]) -> dict[str, Any]:
        stats["observation.images.front"]["mean"] = [0.5, 0.5, 0.5]
        return stats

    edit_json(root / "meta/stats.json", change)


def extra_data_file(root: Path) -> None:
    shutil.copy(root / DATA_V30, root / "data/chunk-000/file-001.parquet")


def slash_feature(info: dict[str, Any]) -> None:
    info["features"]["observation/state"] = info["features"].pop("observation.state")


V30_CASES = {
    "missing data file": (delete(DATA_V30), f"{DATA_V30}: missing (episodes 0, 1, 2)"),
    "missing video": (delete(FRONT_V30), f"{FRONT_V30}: missing (episodes 0, 1, 2)"),
    "wrong total": (
        edit_info(lambda info: info.update(total_frames=17)),
        "meta/episodes: episode lengths sum to 16, info.json total_frames is 17",
    ),
    "gap in index": (
        edit_column(DATA_V30, "index", plus(1, 5)),
        f"{DATA_V30}: episode 1: index of frame 0 is 6, expected 5",
    ),
    "shifted timestamp": (
        edit_column(DATA_V30, "timestamp", plus(0.01, 7)),
        f"{DATA_V30}: episode 1: timestamp of frame 2 is",
    ),
    "frame_index not restarting": (
        edit_column(DATA_V30, "frame_index", plus(5, 5)),
        f"{DATA_V30}: episode 1: frame_index of frame 0 is 5, expected 0",
    ),
    "episode_index gap": (
        edit_column(DATA_V30, "episode_index", plus(1, 13)),
        f"{DATA_V30}: episode 2: episode_index of frame 0 is 3, expected 2",
    ),
    "task outside the table": (
        edit_column(DATA_V30, "task_index", plus(5, 13)),
        f"{DATA_V30}: episode 2: task_index outside 0..2",
    ),
    # the index is at the front (faststart), so the file opens and the frames of the lost half are missing
    "truncated video": (
        truncate(FRONT_V30),
        f"{FRONT_V30}: episode 2: 0 frames between 1.300000s and 1.600000s, expected 3",
    ),
    "unreadable video": (truncate(FRONT_V30, keep=0), f"{FRONT_V30}: cannot read video"),
    "tasks as plain columns": (
        tasks_as_columns,
        "meta/tasks.parquet: the task strings must be the pandas index (found 'task' as a plain column)",
    ),
    "missing info": (delete("meta/info.json"), "meta/info.json: missing"),
    "old version": (
        edit_info(lambda info: info.update(codebase_version="v2.0")),
        "meta/info.json: codebase_version 'v2.0' is not supported",
    ),
    "from index": (
        edit_column(EPISODES_V30, "dataset_from_index", plus(1, 1)),
        "meta/episodes: episode 1: dataset_from/to_index are 6/13, expected 5/13",
    ),
    "from_timestamp": (
        edit_column(EPISODES_V30, "videos/observation.images.front/from_timestamp", plus(0.05, 2)),
        "do not span length/fps",
    ),
    "image stats shape": (
        image_stats_flat,
        "meta/stats.json: dataset: stats observation.images.front/mean has shape (3,)",
    ),
    "extra data file": (
        extra_data_file,
        "data/chunk-000/file-001.parquet: data file not referenced by any episode",
    ),
    "slash in a name": (
        edit_info(slash_feature),
        "feature 'observation/state': feature names must not contain '/'",
    ),
    "codec in info": (
        edit_info(
            lambda info: info["features"]["observation.images.front"]["info"].update({"video.codec": "av1"})
        ),
        f"{FRONT_V30}: stream has video.codec 'h264' but info.json says 'av1'",
    ),
    "image in a vector's name": (
        edit_info(
            lambda info: info["features"].update({"observation.image_embedding": info["features"]["action"]})
        ),
        "meta/info.json: feature 'observation.image_embedding': lerobot takes every feature whose name contains",
    ),
    "splits": (edit_info(lambda info: info.update(splits={"train": "0:2"})), "splits must be"),
    "missing stats": (delete("meta/stats.json"), "meta/stats.json: missing"),
}


def test_valid_datasets_have_no_problems(valid: dict[str, Path]) -> None:
    assert validate_dataset(valid["v3.0"]) == []
    assert validate_dataset(valid["v2.1"]) == []
    assert validate_dataset(valid["v3.0"], videos=False) == []


@pytest.mark.parametrize("case", sorted(V30_CASES))
def test_v30_broken_invariants_are_named(valid: dict[str, Path], tmp_path: Path, case: str) -> None:
    change, expected = V30_CASES[case]
    problems = validate_dataset(broken(valid, "v3.0", tmp_path, change))
    assert any(str(p).startswith(expected) or expected in str(p) for p in problems), [
        str(p) for p in problems
    ]


def fewer_frames(root: Path) -> None:
    shutil.copy(root / "videos/chunk-000/observation.images.front/episode_000002.mp4", root / FRONT_V21)


V21_CASES = {
    "missing data file": (delete(DATA_V21), f"{DATA_V21}: missing (episode 1)"),
    "missing video": (delete(FRONT_V21), f"{FRONT_V21}: missing (episode 1)"),
    "wrong length": (
        edit_jsonl("meta/episodes.jsonl", 1, lambda row: row.update(length=9)),
        "meta/episodes.jsonl: lengths sum to 17, info.json total_frames is 16",
    ),
    "missing tasks": (delete("meta/tasks.jsonl"), "meta/tasks.jsonl: missing"),
    "shifted timestamp": (
        edit_column(DATA_V21, "timestamp", plus(0.01, 3)),
        f"{DATA_V21}: episode 1: timestamp of frame 3 is",
    ),
    "index not global": (
        edit_column(DATA_V21, "index", plus(-5, 0)),
        f"{DATA_V21}: episode 1: index of frame 0 is 0, expected 5",
    ),
    "total videos": (
        edit_info(lambda info: info.update(total_videos=3)),
        "meta/info.json: total_videos is 3, expected episodes x cameras = 6",
    ),
    "fewer video frames": (fewer_frames, f"{FRONT_V21}: episode 1: 3 frames between"),
    "episode tasks": (
        edit_jsonl("meta/episodes.jsonl", 0, lambda row: row.update(tasks=["wave"])),
        "data/chunk-000/episode_000000.parquet: episode 0: rows use tasks ['pick cube'] but the episode lists",
    ),
    "stats without count": (
        edit_jsonl("meta/episodes_stats.jsonl", 2, lambda row: row["stats"]["action"].pop("count")),
        "meta/episodes_stats.jsonl: episode 2: stats of 'action' lack count",
    ),
}


@pytest.mark.parametrize("case", sorted(V21_CASES))
def test_v21_broken_invariants_are_named(valid: dict[str, Path], tmp_path: Path, case: str) -> None:
    change, expected = V21_CASES[case]
    problems = validate_dataset(broken(valid, "v2.1", tmp_path, change))
    assert any(str(p).startswith(expected) for p in problems), [str(p) for p in problems]


def test_format_only_skips_opening_videos(valid: dict[str, Path], tmp_path: Path) -> None:
    root = broken(valid, "v3.0", tmp_path, truncate(FRONT_V30))
    assert validate_dataset(root, videos=False) == []
    (root / FRONT_V30).unlink()
    assert [p.path for p in validate_dataset(root, videos=False)] == [FRONT_V30]


def test_not_a_dataset(tmp_path: Path) -> None:
    assert validate_dataset(tmp_path / "nowhere") == [Problem(str(tmp_path / "nowhere"), "not a directory")]


def test_cli_exit_codes_and_output(
    valid: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(valid["v3.0"])]) == 0
    assert capsys.readouterr().out.strip() == f"{valid['v3.0']}: valid"

    root = broken(valid, "v3.0", tmp_path, delete(DATA_V30))
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(root)])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{root}/{DATA_V30}: missing (episodes 0, 1, 2)"]
    assert "1 problem(s)" in captured.err

    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--json", "--format-only", str(root)])
    assert exit_info.value.code == 1
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "dataset": str(root),
        "valid": False,
        "problems": [{"path": DATA_V30, "message": "missing (episodes 0, 1, 2)"}],
    }


@pytest.mark.parametrize(
    ("fmt", "relpath"), [("v3.0", DATA_V30), ("v2.1", "data/chunk-000/episode_000000.parquet")]
)
def test_one_element_vector_must_be_a_scalar_column(tmp_path: Path, kit: Any, fmt: str, relpath: str) -> None:
    """lerobot casts a shape-[1] feature's column to float32: a fixed_size_list[1] column does not load."""
    root = kit.write(tmp_path / "ds", [kit.episode(0, ["a"] * 3)], format=fmt, spec=kit.gripper_spec)
    assert validate_dataset(root) == []
    table = pq.read_table(root / relpath)
    index = table.schema.get_field_index("observation.gripper")
    as_list = pa.FixedSizeListArray.from_arrays(table.column(index).combine_chunks(), 1)
    pq.write_table(table.set_column(index, "observation.gripper", as_list), root / relpath)
    expected = (
        f"{relpath}: column 'observation.gripper' has type fixed_size_list<element: float>[1], expected float "
        "(lerobot reads a feature of shape [1] as a plain column and cannot load a list of one)"
    )
    assert [str(problem) for problem in validate_dataset(root)] == [expected]
