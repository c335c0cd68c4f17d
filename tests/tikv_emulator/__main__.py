"""Run the emulator as its own process: ``python tests/tikv_emulator --port 2379 [--kv-port 20160]``.

Prints one line ``tikv-emulator ready pd=HOST:PORT kv=HOST:PORT`` once both ports listen, then serves until
SIGINT/SIGTERM. ``--port 0`` picks a free port (read it from that line).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as a directory/script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "tikv_emulator"

from tikv_emulator.server import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tikv_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2379, help="PD port (default 2379; 0 = any free port)")
    parser.add_argument("--kv-port", type=int, default=0, help="TiKV port (default: any free port)")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="inject this many seconds before every answer"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        emulator = Emulator(host=args.host, pd_port=args.port, kv_port=args.kv_port).start()
    except OSError as err:
        print(f"tikv-emulator: error: {err}", file=sys.stderr)
        return 2
    if args.delay:
        emulator.faults.delay(args.delay)
    print(f"tikv-emulator ready pd={emulator.pd_address} kv={emulator.kv_address}", flush=True)
    try:
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
