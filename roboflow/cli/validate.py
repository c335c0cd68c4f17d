"""``roboflow validate DATASET``: check a LeRobot dataset against the format spec."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["validate"]


@click.command("validate")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--format-only", is_flag=True, help="Skip opening videos (file presence is still checked).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def validate(dataset: Path, format_only: bool, as_json: bool) -> int:
    """Check DATASET (v3.0 or v2.1) against every invariant of the LeRobot format.

    Exits 0 when the dataset is valid, 1 with one problem per line otherwise, 2 when DATASET is no directory.
    """
    from roboflow.errors import DatasetError
    from roboflow.lerobot.validate import validate_dataset

    if not dataset.exists():
        raise DatasetError("does not exist", path=str(dataset), hint="give the dataset's directory, the one holding meta/")
    if not dataset.is_dir():
        raise DatasetError("is a file, not a dataset directory", path=str(dataset),
                           hint="give the dataset's directory, the one holding meta/")
    problems = validate_dataset(dataset, videos=not format_only)
    if as_json:
        document = {
            "dataset": str(dataset),
            "valid": not problems,
            "problems": [{"path": p.path, "message": p.message} for p in problems],
        }
        click.echo(json.dumps(document, indent=2))
    elif problems:
        for problem in problems:
            click.echo(f"{dataset}/{problem}")
        click.echo(f"{dataset}: {len(problems)} problem(s); not a valid LeRobot dataset", err=True)
    else:
        click.echo(f"{dataset}: valid")
    return 1 if problems else 0
