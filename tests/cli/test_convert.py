"""``roboflow convert`` as a user runs it: exit statuses, messages, summary, the README's first command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_main import run

from roboflow.lerobot.validate import validate_dataset
from roboflow.synth import CameraSpec, SynthSpec, write_recording

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.toml"
SMALL = SynthSpec(duration_s=0.7, cameras=(CameraSpec("cam_high", "jpeg", 64, 48), CameraSpec("cam_wrist", "rgb8", 64, 48)))


def fast_demo_config(tmp_path: Path) -> Path:
    """examples/demo.toml with the fastest encoder settings (tests only)."""
    text = DEMO.read_text().replace('preset = "veryfast"', 'preset = "ultrafast"')
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


def test_the_readme_command_converts_a_synth_recording_with_the_demo_config(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_recording(tmp_path / "demo.mcap", SMALL)
    out = tmp_path / "demo_dataset"
    assert run("convert", str(tmp_path / "demo.mcap"), "-c", str(DEMO), "-o", str(out)) == 0
    captured = capsys.readouterr()
    assert "demo.mcap  1" in captured.out and f"wrote {out}: 1 episodes" in captured.out
    assert "converted  [1/1]" in captured.err  # plain log lines when stderr is not a terminal
    assert validate_dataset(out) == []
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["features"]["action"]["names"][13] == "joint_13" and info["robot_type"] == "synthbot"
    provenance = json.loads((out / "meta" / "roboflow.json").read_text())
    assert provenance["config"]["text"] == DEMO.read_text()
    assert run("validate", str(out)) == 0


def test_exit_statuses_overwrite_partial_and_strict(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = fast_demo_config(tmp_path)
    (tmp_path / "in").mkdir()
    write_recording(tmp_path / "in" / "a.mcap", SMALL)
    shutil.copy(ROOT.parent / "shared/data/recordings/rosbagjs/empty-file.bag", tmp_path / "in" / "b.bag")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert run("convert", str(tmp_path / "in" / "a.mcap"), "-c", str(config), "-o", str(out)) == 2
    assert "exists already, not overwriting (pass --overwrite to replace it)" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    # --overwrite replaces a dataset, never a folder of other files
    assert run("convert", str(tmp_path / "in" / "a.mcap"), "-c", str(config), "-o", str(out), "--overwrite") == 2
    assert "holds other files than a LeRobot dataset (data, meta, videos)" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    assert run("convert", str(tmp_path / "in" / "a.mcap"), "-c", str(config), "-o", str(out)) == 0  # empty: fine
    capsys.readouterr()

    assert run("convert", str(tmp_path / "in"), "-c", str(config), "-o", str(out), "--overwrite") == 4
    captured = capsys.readouterr()
    assert "b.bag      -         -       -        -        skipped: file is empty (0 bytes)" in captured.out
    assert validate_dataset(out) == []
    provenance = json.loads((out / "meta" / "roboflow.json").read_text())
    assert provenance["recordings"]["converted"] == 1
    assert provenance["recordings"]["skipped"][0]["source"].endswith("b.bag")

    strict_out = tmp_path / "strict"
    assert run("convert", str(tmp_path / "in"), "-c", str(config), "-o", str(strict_out), "--strict") == 2
    assert "--strict stops at the first recording that fails" in capsys.readouterr().err
    assert not strict_out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or partial left behind


def test_format_override_and_source_path_from_the_config(tmp_path: Path) -> None:
    write_recording(tmp_path / "a.mcap", SMALL)
    config = fast_demo_config(tmp_path)
    config.write_text(f'[source]\npath = "{tmp_path / "a.mcap"}"\n' + config.read_text())
    out = tmp_path / "out"
    assert run("convert", "-c", str(config), "-o", str(out), "--format", "v2.1") == 0
    assert json.loads((out / "meta" / "info.json").read_text())["codebase_version"] == "v2.1"
    assert validate_dataset(out) == []


def test_user_errors_are_one_line_with_status_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = fast_demo_config(tmp_path)
    assert run("convert", "-c", str(config), "-o", str(tmp_path / "o")) == 2
    assert "no INPUT given and the config has no [source] path" in capsys.readouterr().err
    assert run("convert", str(tmp_path / "nothing*.mcap"), "-c", str(config), "-o", str(tmp_path / "o")) == 2
    assert "no such file, directory or glob match" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(config.read_text().replace("mapping_type", "maping_type", 1))
    write_recording(tmp_path / "a.mcap", SMALL)
    assert run("convert", str(tmp_path / "a.mcap"), "-c", str(bad), "-o", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'maping_type' (did you mean 'mapping_type'?)" in err


def test_a_missing_topic_lists_the_recordings_topics_closest_first(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_recording(tmp_path / "a.mcap", SMALL)
    config = fast_demo_config(tmp_path)
    config.write_text(config.read_text().replace('"/joint_states"', '"/joint_state"'))
    assert run("convert", str(tmp_path / "a.mcap"), "-c", str(config), "-o", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert "mapping 'observation.state': topic /joint_state is not in this recording (it has: /joint_states, " in err
    assert "no recording could be converted (1 failed)" in err


def test_every_missing_topic_is_named_at_once(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_recording(tmp_path / "a.mcap", SMALL)
    config = fast_demo_config(tmp_path)
    config.write_text(config.read_text().replace('"/joint_states"', '"/joint_state"').replace('"/action"', '"/actions"'))
    assert run("convert", str(tmp_path / "a.mcap"), "-c", str(config), "-o", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert ("2 mapped topics are not in this recording: /joint_state (mapping 'observation.state'), "
            "/actions (mapping 'action') (it has: /joint_states, ") in err


def test_validate_says_a_missing_dataset_does_not_exist(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run("validate", str(tmp_path / "nowhere")) == 2
    err = capsys.readouterr().err
    assert err == f"roboflow: error: {tmp_path / 'nowhere'}: does not exist (give the dataset's directory, the one holding meta/)\n"
    (tmp_path / "file").write_text("x")
    assert run("validate", str(tmp_path / "file")) == 2
    assert "is a file, not a dataset directory" in capsys.readouterr().err


def test_a_config_without_action_or_with_placeholders_warns_in_one_line_each(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_recording(tmp_path / "a.mcap", SMALL)
    config = fast_demo_config(tmp_path)
    text = config.read_text()
    without_action = text[: text.index('[[mappings]]\ntopic = "/action"')] + text[text.index("[video]") :]
    task_line = next(line for line in text.splitlines() if line.startswith("task = "))
    config.write_text(without_action.replace(task_line, 'task = "describe the task"'))
    assert run("convert", str(tmp_path / "a.mcap"), "-c", str(config), "-o", str(tmp_path / "o")) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("roboflow: warning:")]
    assert warnings == [
        (f'roboflow: warning: {config}: no mapping writes the feature "action", which most lerobot policies train on '
        '(map the command topic with feature = "action")'),
        (f'roboflow: warning: {config}: [dataset] task is "describe the task" (the starter config\'s placeholder): '
        "say what it is"),
    ]
