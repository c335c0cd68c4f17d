"""The emulator's protobuf messages, compiled from ``kvproto_subset.proto`` at import time.

Nothing generated is committed: ``grpc.protos`` (grpcio-tools) compiles the hand-written proto in memory,
so the messages always match the installed protobuf runtime.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import ModuleType

import grpc

__all__ = ["PROTO_FILE", "pb"]

PROTO_FILE = Path(__file__).with_name("kvproto_subset.proto")
_LOCK = threading.Lock()


def _load() -> ModuleType:
    with _LOCK:
        sys.path.insert(0, str(PROTO_FILE.parent))  # grpc.protos resolves the file against sys.path
        try:
            return grpc.protos(PROTO_FILE.name)  # type: ignore[attr-defined,no-any-return]
        finally:
            sys.path.remove(str(PROTO_FILE.parent))


pb = _load()
