"""pyarrow does not import pandas in a roboflow process, and converts pandas objects once pandas is imported.

Each case runs in a fresh interpreter: the guard acts once per process, on pyarrow's first import.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: pyarrow conversions of plain Python values, then of pandas objects after ``import pandas`` (before any explicit
#: pandas call of pyarrow's, which would make it retry the import by itself); prints a JSON report.
CONVERSIONS = """
import json, sys
{imports}
import pyarrow as pa
pa.array([1, 2]); pa.table({{"a": ["x", "y"]}}); pa.chunked_array([[1.5]])
before = "pandas" in sys.modules
{first_pandas_use}
import pandas as pd
report = {{
    "pandas_before": before,
    "category": str(pa.array(pd.Series(["a", "b", "a"], dtype="category")).type),
    "nan_nulls": pa.array(pd.Series([1.0, float("nan")])).null_count,
    "strings": pa.array(pd.Series(["x", None], dtype=object)).to_pylist(),
    "dates": str(pa.array(pd.Series([0], dtype="datetime64[ns]")).type),
}}
frame = pd.DataFrame({{"a": [1, 2], "b": ["x", None], "c": [0.5, float("nan")]}})
pd.testing.assert_frame_equal(pa.Table.from_pandas(frame).to_pandas(), frame)
report["from_pandas"] = pa.Table.from_pandas(frame).column("b").to_pylist()
report["to_pandas"] = pa.table({{"n": [3, 4]}}).to_pandas()["n"].tolist()
print(json.dumps(report))
"""


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("imports", "first_pandas_use"),
    [
        ("import roboflow", ""),
        ("import pyarrow; import roboflow", ""),
        ("import roboflow", "pa.table({'n': [1]}).to_pandas()  # pyarrow imports pandas itself"),
        ("import roboflow", "import pandas.api.types"),
    ],
    ids=["roboflow-first", "pyarrow-first", "to-pandas-first", "submodule-first"],
)
def test_pyarrow_keeps_off_pandas_and_converts_pandas_objects_after(imports: str, first_pandas_use: str) -> None:
    report = json.loads(run_python(CONVERSIONS.format(imports=imports, first_pandas_use=first_pandas_use)))
    assert report == {
        "pandas_before": False,
        "category": "dictionary<values=large_string, indices=int8, ordered=0>",
        "nan_nulls": 1,
        "strings": ["x", None],
        "dates": "timestamp[ns]",
        "from_pandas": ["x", None],
        "to_pandas": [3, 4],
    }


def test_pandas_imported_before_roboflow_is_left_alone() -> None:
    report = json.loads(run_python(CONVERSIONS.format(imports="import pandas; import roboflow", first_pandas_use="")))
    assert report["pandas_before"] is True
    assert report["category"] == "dictionary<values=large_string, indices=int8, ordered=0>"
    assert report["nan_nulls"] == 1
