"""PD (placement driver) of the emulator: members, TSO, the one region and store, the GC safe point."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .mvcc import PHYSICAL_SHIFT, Mvcc
from .proto import pb

__all__ = ["CLUSTER_ID", "REGION_ID", "STORE_ID", "PdService", "TsoClock"]

CLUSTER_ID = 6_996_214_011_385_733_121
STORE_ID = 1
REGION_ID = 2
PEER_ID = 3
_LOGICAL_MASK = (1 << PHYSICAL_SHIFT) - 1


class TsoClock:
    """Strictly increasing timestamps ``physical_ms << 18 | logical`` from the host clock plus an offset.

    ``advance(ms)`` moves the clock forward, so tests can expire locks and leases without sleeping.
    """

    def __init__(self, wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self._wall_ms = wall_ms
        self._offset_ms = 0
        self._last = 0
        self._mu = threading.Lock()

    def advance(self, ms: int) -> None:
        with self._mu:
            self._offset_ms += ms

    def allocate(self, count: int = 1) -> int:
        """Reserve ``count`` timestamps; returns the highest (what PD answers for a batch)."""
        with self._mu:
            first = max((self._wall_ms() + self._offset_ms) << PHYSICAL_SHIFT, self._last + 1)
            self._last = first + max(count, 1) - 1
            return self._last

    def now(self) -> int:
        return self.allocate(1)


class PdService:
    """Handlers of ``pdpb.PD``; every reply carries a header with the cluster id (the client needs it)."""

    def __init__(self, mvcc: Mvcc, clock: TsoClock) -> None:
        self.mvcc = mvcc
        self.clock = clock
        self.pd_address = ""
        self.kv_address = ""
        self.safe_point = 0
        self._mu = threading.Lock()

    @staticmethod
    def _header() -> Any:
        return pb.ResponseHeader(cluster_id=CLUSTER_ID)

    @staticmethod
    def region() -> Any:
        return pb.Region(
            id=REGION_ID,
            start_key=b"",
            end_key=b"",
            region_epoch=pb.RegionEpoch(conf_ver=1, version=1),
            peers=[pb.Peer(id=PEER_ID, store_id=STORE_ID)],
        )

    def GetMembers(self, request: Any, context: Any) -> Any:
        member = pb.Member(
            name="pd-emulator",
            member_id=1,
            peer_urls=[f"http://{self.pd_address}"],
            client_urls=[f"http://{self.pd_address}"],
        )
        return pb.GetMembersResponse(
            header=self._header(), members=[member], leader=member, etcd_leader=member
        )

    def Tso(self, requests: Iterator[Any], context: Any) -> Iterator[Any]:
        for request in requests:
            ts = self.clock.allocate(request.count)
            yield pb.TsoResponse(
                header=self._header(),
                count=request.count,
                timestamp=pb.Timestamp(physical=ts >> PHYSICAL_SHIFT, logical=ts & _LOGICAL_MASK),
            )

    def GetRegion(self, request: Any, context: Any) -> Any:
        region = self.region()
        return pb.GetRegionResponse(header=self._header(), region=region, leader=region.peers[0])

    def GetStore(self, request: Any, context: Any) -> Any:
        store = pb.Store(id=STORE_ID, address=self.kv_address, state=0, version="7.5.0")
        return pb.GetStoreResponse(header=self._header(), store=store)

    def UpdateGCSafePoint(self, request: Any, context: Any) -> Any:
        """Record the new safe point (never moving back) and collect versions below it, as TiKV's GC worker would."""
        with self._mu:
            if request.safe_point > self.safe_point:
                self.safe_point = request.safe_point
                self.mvcc.gc(self.safe_point)
            return pb.UpdateGCSafePointResponse(header=self._header(), new_safe_point=self.safe_point)

    def handlers(self) -> dict[str, tuple[str, Callable[..., Any], Any, Any]]:
        """Method name → (kind, function, request class, response class)."""
        return {
            "GetMembers": ("unary", self.GetMembers, pb.GetMembersRequest, pb.GetMembersResponse),
            "Tso": ("stream", self.Tso, pb.TsoRequest, pb.TsoResponse),
            "GetRegion": ("unary", self.GetRegion, pb.GetRegionRequest, pb.GetRegionResponse),
            "GetStore": ("unary", self.GetStore, pb.GetStoreRequest, pb.GetStoreResponse),
            "UpdateGCSafePoint": (
                "unary",
                self.UpdateGCSafePoint,
                pb.UpdateGCSafePointRequest,
                pb.UpdateGCSafePointResponse,
            ),
        }
