"""One fuzz case: run ``roboflow inspect`` and ``roboflow convert`` on a damaged recording and judge the result.

The commands run in-process through the CLI entry point, with stderr and log records captured, so a case
sees exactly what a user would: either success (for convert, a dataset that validates) or exactly one
``roboflow: error:`` line. Anything else is a bad outcome: an exception escaping the CLI (a traceback), a
``MemoryError``, an error or warning spread over several lines, or a bug reported as "unexpected <Type>".
Hangs are caught by the caller (``bench/fuzz.py`` runs each case in a child with a timeout).
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from roboflow.synth.generate import write_recording
from roboflow.synth.mutate import mutate
from roboflow.synth.spec import CameraSpec, ImageKind, SynthSpec

__all__ = ["BAD", "FUZZ_CONFIG", "FUZZ_SPEC", "Case", "Outcome", "Seed", "Verdict", "make_case", "make_seeds", "run_case"]


class Outcome(str, Enum):
    """How a case ended (the first bad thing seen wins)."""

    OK = "ok"
    CLEAN = "clean error"
    TRACEBACK = "traceback"
    MEMORY = "MemoryError"
    MULTILINE = "multi-line"
    INVALID = "invalid dataset"
    HANG = "hang"


BAD = frozenset(Outcome) - {Outcome.OK, Outcome.CLEAN}

#: A small recording: one tiny JPEG camera, 4 joints, actions; converts in well under a second.
FUZZ_SPEC = SynthSpec(duration_s=0.6, cameras=(CameraSpec("cam", ImageKind.JPEG, 64, 48, 10.0),),
                      joint_rate_hz=40.0, n_joints=4, action_rate_hz=20.0, seed=3)

FUZZ_CONFIG = """
[dataset]
name = "fuzz"
fps = 10
task = "fuzz"
robot_type = "synthbot"

[[mappings]]
topic = "/cam/image_raw/compressed"
feature = "observation.images.cam"
mapping_type = "image"

[[mappings]]
topic = "/joint_states"
feature = "observation.state"
mapping_type = "state"

[[mappings]]
topic = "/action"
feature = "action"
mapping_type = "action"

[video]
codec = "libx264"
preset = "ultrafast"
"""

#: (format, compression) of the generated seeds.
_SYNTH = (("mcap", "zstd"), ("mcap", "lz4"), ("mcap", "none"), ("ros1", "none"), ("ros1", "bz2"),
          ("ros1", "lz4"), ("ros2-sqlite3", "none"), ("ros2-sqlite3", "zstd-message"), ("ros2-mcap", "zstd"),
          ("ros2-mcap", "none"))
_SUFFIX = {"mcap": ".mcap", "ros1": ".bag"}
#: Small real recordings (relative to the recordings directory), inspected and read in full.
REAL = ("rosbagjs/example-unsorted-chunks.bag", "rosbag2/ros1_test_bag_multiple_connections.bag",
        "rosbagjs/example-lz4.bag", "rosbagjs/example-bz2.bag", "mcap_conformance/TenMessages.mcap",
        "mcap_conformance/TenMessages-ch-chx-mx-st-sum.mcap", "rosbag2/talker_sqlite3", "rosbag2/talker_mcap",
        "rosbag2/cdr_test_sqlite3_2021", "rosbags_rs/test_bag_mcap", "rosbags_rs/test_bag_sqlite3",
        "foxglove_sdk/so100.rrd")
_REAL_LABELS = {".bag": "real-ros1", ".mcap": "real-mcap", ".rrd": "rrd"}
_STDERR_OK = re.compile(r"roboflow: (error|warning): |\d\d:\d\d:\d\d (converting|converted|skipped|merging) ")
_UNEXPECTED = re.compile(r"unexpected [A-Za-z_.]*(Error|Exception|Warning|Interrupt|Exit)\b|unexpected \w+: ")
_HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@dataclass(frozen=True, slots=True)
class Seed:
    """An undamaged input: its format label, its path, and whether it is converted (synth) or only read."""

    label: str
    path: Path
    convert: bool


@dataclass(frozen=True, slots=True)
class Case:
    """A damaged copy of a seed."""

    seed: Seed
    path: Path
    damage: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a case, with the command and the line or exception that decided it."""

    outcome: Outcome
    detail: str = ""


def make_seeds(directory: Path, recordings: Path | None) -> list[Seed]:
    """Write the synth seeds into ``directory``; add the small real recordings found under ``recordings``."""
    seeds = []
    for fmt, compression in _SYNTH:
        path = directory / f"{fmt}-{compression}{_SUFFIX.get(fmt, '')}"
        write_recording(path, FUZZ_SPEC, fmt, compression=compression)
        label = f"ros1-{compression}" if fmt == "ros1" and compression != "none" else fmt
        seeds.append(Seed(label, path, True))
    (directory / "fuzz.toml").write_text(FUZZ_CONFIG)
    paths = [recordings / relative for relative in REAL] if recordings is not None else []
    seeds.extend(Seed(_REAL_LABELS.get(path.suffix, "real-rosbag2"), path, False) for path in paths if path.exists())
    return seeds


def make_case(seeds: list[Seed], seed: int, index: int, directory: Path) -> Case:
    """Case ``index`` of campaign ``seed``: seed recording ``index % len(seeds)`` damaged by ``Random("seed:index")``.

    The damaged copy is written into ``directory`` (which must not exist yet); the same arguments always give
    the same damage, so a bad case can be replayed alone.
    """
    chosen = seeds[index % len(seeds)]
    directory.mkdir(parents=True)
    target = directory / (chosen.path.name or "recording")
    return Case(chosen, target, mutate(chosen.path, target, random.Random(f"{seed}:{index}")))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, _Records, list[warnings.WarningMessage]]]:
    """Capture stderr, stdout, log records (WARNING and up) and Python warnings of the CLI."""
    root = logging.getLogger()
    handler, old_handlers, old_level = _Records(), root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.WARNING
    stderr = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr), \
                contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            yield stderr, handler, caught
    finally:
        root.handlers, root.level = old_handlers, old_level


def _judged(what: str, body: Callable[[io.StringIO], Verdict]) -> Verdict:
    """Run ``body`` (given the captured stderr) and judge it; an exception escaping it would be a traceback,
    and a log record or Python warning spanning lines is a bad outcome whatever ``body`` decided."""
    with _captured() as (stderr, records, caught):
        try:
            verdict = body(stderr)
        except MemoryError as err:
            return Verdict(Outcome.MEMORY, f"{what}: MemoryError: {err}")
        except Exception as err:  # noqa: BLE001 - anything escaping would be a traceback
            return Verdict(Outcome.TRACEBACK, f"{what}: {type(err).__name__}: {err}"[:300])
    for line in records.lines:
        if "\n" in line.strip():
            return Verdict(Outcome.MULTILINE, f"{what}: log record {line[:300]!r}")
    for warning in caught:
        if not issubclass(warning.category, _HIDDEN_WARNINGS):
            return Verdict(Outcome.MULTILINE, f"{what}: {warning.category.__name__}: {warning.message}"[:300])
    return verdict


def _cli(args: list[str]) -> Verdict:
    """``roboflow ARGS`` in-process: success, or exit status 2 with exactly one ``roboflow: error:`` line."""
    from roboflow.cli import main

    def body(stderr: io.StringIO) -> Verdict:
        code: object = 0
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code
        lines = stderr.getvalue().splitlines()
        for line in lines:
            if not _STDERR_OK.match(line):
                return Verdict(Outcome.MULTILINE, f"{args[0]}: stderr line {line[:300]!r}")
            if _UNEXPECTED.search(line):
                return Verdict(Outcome.TRACEBACK, f"{args[0]}: {line[:300]}")
        errors = [line for line in lines if line.startswith("roboflow: error:")]
        if code in (0, None):
            return Verdict(Outcome.OK)
        if code == 2 and len(errors) == 1:
            return Verdict(Outcome.CLEAN, errors[0][:300])
        return Verdict(Outcome.TRACEBACK, f"{args[0]}: exit {code} with {len(errors)} error lines: {errors[:2]}")

    return _judged(args[0], body)


def _read_all(path: Path) -> Verdict:
    """Open the recording and decode every message it can (what convert does with a mapped topic)."""
    from roboflow.decode import Decoder, decoder_for
    from roboflow.errors import RoboflowError, SourceError
    from roboflow.sources import open_source

    def body(_: io.StringIO) -> Verdict:
        decoders: dict[int, Decoder | None] = {}
        try:
            with open_source(path) as source:
                for channel in source.channels:
                    try:
                        decoders[channel.id] = decoder_for(channel)
                    except SourceError:  # not decodable (e.g. an unknown encoding): still read its messages
                        decoders[channel.id] = None
                for message in source.messages():
                    decoder = decoders[message.channel.id]
                    if decoder is not None:
                        decoder(message.data)
        except RoboflowError as err:
            return Verdict(Outcome.MULTILINE if "\n" in str(err) else Outcome.CLEAN, f"read: {err!s:.300}")
        return Verdict(Outcome.OK)

    return _judged("read", body)


def run_case(case: Case, config: Path, scratch: Path) -> Verdict:
    """Inspect, then convert (a synth seed) or read every message (a real one); the first bad verdict wins.

    Args:
        case: The damaged recording.
        config: The convert config of the synth seeds (``FUZZ_CONFIG`` written to a file).
        scratch: A directory for the dataset; emptied afterwards.
    """
    from roboflow.lerobot.validate import validate_dataset

    verdicts = [_cli(["inspect", str(case.path)])]
    if case.seed.convert:
        out = scratch / "dataset"
        verdict = _cli(["convert", str(case.path), "-c", str(config), "-o", str(out), "--strict", "--no-progress"])
        if verdict.outcome is Outcome.OK:
            problems = validate_dataset(out)
            if problems:
                verdict = Verdict(Outcome.INVALID, str(problems[0])[:300])
        shutil.rmtree(out, ignore_errors=True)
        verdicts.append(verdict)
    else:
        verdicts.append(_read_all(case.path))
    bad = [verdict for verdict in verdicts if verdict.outcome in BAD]
    if bad:
        return bad[0]
    return next((verdict for verdict in verdicts if verdict.outcome is Outcome.CLEAN), verdicts[0])
