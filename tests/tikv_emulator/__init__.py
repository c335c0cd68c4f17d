"""A PD + TiKV protocol emulator for tests: the real ``tikv-client`` wheel talks gRPC to it.

Single region, single store, in-memory MVCC with Percolator rules, a TSO, and fault injection.
In tests: ``with Emulator() as emu: TikvStore.from_url(emu.url)``. As its own process:
``python tests/tikv_emulator --port 2379`` (see ``__main__.py``).
"""

from __future__ import annotations

from .faults import REGION_ERROR_KINDS, Faults
from .mvcc import Mvcc
from .pd import TsoClock
from .server import Emulator

__all__ = ["REGION_ERROR_KINDS", "Emulator", "Faults", "Mvcc", "TsoClock"]
