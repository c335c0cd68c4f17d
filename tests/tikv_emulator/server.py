"""The emulator: PD and TiKV gRPC servers over one in-memory MVCC store, on loopback ports."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any, Self

import grpc

from .faults import Faults
from .kv import KvService
from .mvcc import Mvcc
from .pd import PdService, TsoClock

__all__ = ["Emulator"]

_Handler = tuple[str, Callable[..., Any], Any, Any]


class Emulator:
    """A single-region, single-store PD + TiKV that the real ``tikv-client`` wheel talks to.

    PD and TiKV listen on separate ports (``pd_port``/``kv_port``, 0 picks a free one). The state survives
    :meth:`stop_serving`/:meth:`resume_serving`, which make the ports refuse connections and come back on
    the same ports. Use as a context manager or call :meth:`start`/:meth:`stop`.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", pd_port: int = 0, kv_port: int = 0, workers: int = 64
    ) -> None:
        self.host = host
        self.pd_port = pd_port
        self.kv_port = kv_port
        self.workers = workers
        self.mvcc = Mvcc()
        self.clock = TsoClock()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.pd = PdService(self.mvcc, self.clock)
        self.kv = KvService(self.mvcc)
        self._servers: list[grpc.Server] = []
        self._mu = threading.Lock()

    # ---- addresses ----
    @property
    def pd_address(self) -> str:
        return f"{self.host}:{self.pd_port}"

    @property
    def kv_address(self) -> str:
        return f"{self.host}:{self.kv_port}"

    @property
    def url(self) -> str:
        """The state-store URL of this emulator (``tikv://host:port``)."""
        return f"tikv://{self.pd_address}"

    @property
    def serving(self) -> bool:
        return bool(self._servers)

    # ---- lifecycle ----
    def start(self) -> Emulator:
        with self._mu:
            if self._servers:
                return self
            pd_server = self._server("pdpb.PD", self.pd.handlers(), regional=False)
            kv_server = self._server("tikvpb.Tikv", self.kv.handlers(), regional=True)
            self.pd_port = self._bind(pd_server, self.pd_port)
            self.kv_port = self._bind(kv_server, self.kv_port)
            self.pd.pd_address, self.pd.kv_address = self.pd_address, self.kv_address
            pd_server.start()
            kv_server.start()
            self._servers = [pd_server, kv_server]
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); in-flight calls and TSO streams are cancelled."""
        with self._mu:
            servers, self._servers = self._servers, []
        for server in servers:
            server.stop(grace=None).wait(5)

    def stop_serving(self) -> None:
        """Make both ports refuse connections; the data is kept for :meth:`resume_serving`."""
        self.stop()

    def resume_serving(self) -> None:
        """Serve again on the same ports."""
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- plumbing ----
    def _bind(self, server: grpc.Server, port: int) -> int:
        bound = server.add_insecure_port(f"{self.host}:{port}")
        if bound == 0:
            raise OSError(f"tikv emulator cannot listen on {self.host}:{port}")
        return bound

    def _server(self, service: str, handlers: dict[str, _Handler], *, regional: bool) -> grpc.Server:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"emu-{service}"),
            options=[("grpc.so_reuseport", 0)],  # a taken port must fail, not be shared
        )
        methods = {
            name: self._method(name, kind, fn, req_cls, resp_cls, regional=regional)
            for name, (kind, fn, req_cls, resp_cls) in handlers.items()
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, methods),))
        return server

    def _method(
        self, name: str, kind: str, fn: Callable[..., Any], req_cls: Any, resp_cls: Any, *, regional: bool
    ) -> grpc.RpcMethodHandler:
        def count() -> None:
            with self._mu:
                self.calls[name] += 1

        if kind == "stream":

            def stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
                count()
                self.faults.before(name, context, regional=False)
                yield from fn(requests, context)

            return grpc.stream_stream_rpc_method_handler(
                stream,
                request_deserializer=req_cls.FromString,
                response_serializer=resp_cls.SerializeToString,
            )

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            count()
            error = self.faults.before(name, context, regional=regional)
            if error is not None:
                return resp_cls(region_error=error)
            return fn(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=req_cls.FromString, response_serializer=resp_cls.SerializeToString
        )
