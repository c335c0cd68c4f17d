"""Keep pyarrow from importing pandas in a roboflow process that does not use pandas.

pyarrow converts pandas objects in ``pa.array``, ``pa.table`` and the like, so its first conversion asks its
pandas shim (``pyarrow.lib._pandas_api``) whether the input is a pandas object, and the shim imports pandas to
find out: ~50 MB of RSS (a state-only conversion peaked at ~180 MB with it) for a run that never uses pandas.
The shim tries that import once and remembers a failure (then nothing is a pandas object to it), while an
explicit pandas call (``to_pandas``, ``from_pandas``, ``pd.read_parquet``) tries again.

So :func:`install` (run by ``import roboflow``) makes that first attempt fail: once pyarrow is imported in a
process without pandas, one ``pa.array([0])`` runs while a :data:`sys.meta_path` finder refuses ``pandas``
to that thread (raising ModuleNotFoundError is how a finder stops an import; ``sys.modules["pandas"] = None``
would not do, pyarrow's compiled import returns the None). When pandas is imported later, by anyone, pyarrow
retries at once (``Table.from_pandas`` of an empty frame), so that pandas objects given to ``pa.array`` convert
as pandas objects again (categoricals as dictionaries, NaN as null) and not as plain sequences.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["install"]


def install() -> None:
    """Arm the guard in this process, unless pandas is already imported (idempotent)."""
    if "pandas" in sys.modules or any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        return
    if "pyarrow" in sys.modules:
        _pyarrow_imported()
    else:
        sys.meta_path.insert(0, _AfterImport("pyarrow", _pyarrow_imported))


def _pyarrow_imported() -> None:
    """Make the shim's one import attempt fail, and have it retry as soon as pandas is imported."""
    if "pandas" in sys.modules:  # pandas is importing pyarrow
        return
    import pyarrow as pa

    refuse = _RefusePandas()
    sys.meta_path.insert(0, refuse)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(refuse)
    sys.meta_path.insert(0, _AfterImport("pandas", _pandas_imported))


def _pandas_imported() -> None:
    import pandas as pd
    import pyarrow as pa

    pa.Table.from_pandas(pd.DataFrame())


class _RefusePandas(MetaPathFinder):
    """Refuses to import pandas in the thread that created it."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] == "pandas" and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"roboflow keeps pyarrow from importing {fullname}", name=fullname)
        return None


class _AfterImport(MetaPathFinder):
    """Calls ``then`` once the module ``name`` has been imported, and leaves :data:`sys.meta_path`."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then
        self.finding = False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name or self.finding:
            return None
        self.finding = True
        try:
            spec = importlib.util.find_spec(fullname)  # from the finders after this one
        finally:
            self.finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _ExecThen(spec.loader, self)
        return spec

    def imported(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.then()


class _ExecThen(Loader):
    """The module's own loader, then the hook; the module keeps its own loader."""

    def __init__(self, loader: Loader, hook: _AfterImport) -> None:
        self.loader = loader
        self.hook = hook

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.hook.imported()
