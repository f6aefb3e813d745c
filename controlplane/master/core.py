"""MasterCore: the master's transport-free facade, used by `http_api.py` and `grpc_api.py`.

Lifecycle (driven by `server.serve`)::

    core = MasterCore(config, volume_admin)        # config with the *bound* port/grpc_port
    await core.start()                             # opens the Raft log in config.mdir, replays it
    tg.create_task(core.run_forever())             # leader duties: liveness, sequence prefetch
    ...
    await core.stop()

Node ids are the volume server's "ip:port" (HTTP listener): `MasterCore.node_id(hb)`.
The gRPC Heartbeat adapter calls `heartbeat(hb)` for every message of a stream and
`node_disconnected(node_id)` when the stream ends.

Changes from the brief's contract:
- value types and the `VolumeAdmin`/`Clock` seams live in `types.py` and are re-exported here;
- `AssignResult.replicas` lists every replica (first = `url`);
- `lookup_token(fid, read)` gives the JWT for `/dir/lookup?fileId=` (`""` when no key is set);
- `start()`, `stop()`, `run_once()`, `run_forever()` and the `node_id()` helper were added;
- an `EventLog` may be injected (tests use an in-memory one; default = pysyncobj in `raft.py`).

Must not import grpc or kelp_http.
"""

from __future__ import annotations

import random
from typing import Any

from kelp_pb import master_pb2

from controlplane.master.config import MasterConfig
from controlplane.master.errors import (
    CollectionNotFound,
    InvalidCount,
    InvalidReplication,
    InvalidTtl,
    MasterError,
    NoFreeVolumes,
    NotEnoughFreeVolumes,
    NotLeader,
    NoWritableVolume,
    PlacementImpossible,
    VolumeNotFound,
    VolumeServerFailed,
    WarmingUp,
)
from controlplane.master.types import (
    AssignRequest,
    AssignResult,
    Clock,
    Location,
    SystemClock,
    VolumeAdmin,
)

__all__ = [
    "AssignRequest",
    "AssignResult",
    "Clock",
    "CollectionNotFound",
    "InvalidCount",
    "InvalidReplication",
    "InvalidTtl",
    "Location",
    "MasterCore",
    "MasterError",
    "NoFreeVolumes",
    "NoWritableVolume",
    "NotEnoughFreeVolumes",
    "NotLeader",
    "PlacementImpossible",
    "SystemClock",
    "VolumeAdmin",
    "VolumeNotFound",
    "VolumeServerFailed",
    "WarmingUp",
]


class MasterCore:
    def __init__(
        self,
        config: MasterConfig,
        volume_admin: VolumeAdmin,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        log: Any = None,
    ) -> None:
        """`config.port`/`config.grpc_port` must be the ports actually bound (use
        `dataclasses.replace` after binding port 0). `log` (an `EventLog`) is for tests."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Open the event log (journal + snapshot in `config.mdir`) and replay it; returns when
        this master has applied everything it had on disk (a cluster of one is then leader)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Flush and close the event log. Idempotent."""
        raise NotImplementedError

    async def run_once(self) -> None:
        """One round of leader duties: declare silent nodes dead (NodeLeft), top up the sequence."""
        raise NotImplementedError

    async def run_forever(self) -> None:
        """`run_once` every second until cancelled; run it in serve()'s TaskGroup."""
        raise NotImplementedError

    # -- write path (leader only: raise NotLeader on a follower) ----------------

    async def assign(self, req: AssignRequest) -> AssignResult:
        """Pick a writable volume for the layout and reserve `req.count` keys.

        Grows volumes when none is writable, waiting up to ~5 s for the growth.
        Raises InvalidReplication, InvalidTtl, NoWritableVolume (503), NoFreeVolumes (406),
        NotLeader."""
        raise NotImplementedError

    async def grow(self, req: AssignRequest, count: int) -> int:
        """`/vol/grow`: create `count` logical volumes for the layout; returns the number of
        volume locations created (replicas counted). Raises InvalidCount, InvalidReplication,
        NotEnoughFreeVolumes, PlacementImpossible, VolumeServerFailed (all 406), NotLeader."""
        raise NotImplementedError

    async def delete_collection(self, name: str) -> None:
        """Delete the collection's volumes on every server, then log CollectionDeleted.
        Raises CollectionNotFound (400), NotLeader, VolumeServerFailed."""
        raise NotImplementedError

    async def vacuum(self, garbage_threshold: float) -> None:
        """Compact every replica of every volume whose garbage ratio exceeds the threshold
        (SeaweedFS default 0.3). Raises NotLeader."""
        raise NotImplementedError

    # -- heartbeats ---------------------------------------------------------------

    @staticmethod
    def node_id(hb: master_pb2.HeartbeatRequest) -> str:
        """The node id of a heartbeat's sender: "ip:port"."""
        return f"{hb.ip}:{hb.port}"

    async def heartbeat(self, hb: master_pb2.HeartbeatRequest) -> master_pb2.HeartbeatResponse:
        """Take one heartbeat (full inventory). On the leader: reconcile it into events and update
        soft state. On a follower: nothing is recorded; the response names the leader so the
        volume server reconnects there. Never raises NotLeader."""
        raise NotImplementedError

    async def node_disconnected(self, node_id: str) -> None:
        """The node's heartbeat stream ended: on the leader, log NodeLeft."""
        raise NotImplementedError

    # -- reads (any master, from the replicated state) ---------------------------

    def lookup(self, vid: int, collection: str = "") -> list[Location]:
        """Locations of a volume's replicas on live nodes. Raises VolumeNotFound."""
        raise NotImplementedError

    def lookup_token(self, fid: str, read: bool = False) -> str:
        """JWT for `/dir/lookup?fileId=fid` (the read key when `read`), or "" when that key is unset."""
        raise NotImplementedError

    def dir_status(self) -> dict[str, Any]:
        """`/dir/status` JSON (§3.3)."""
        raise NotImplementedError

    def vol_status(self) -> dict[str, Any]:
        """`/vol/status` JSON (§3.6)."""
        raise NotImplementedError

    def cluster_status(self) -> dict[str, Any]:
        """`/cluster/status` JSON (§3.4): IsLeader only when leader, Leader "host:port.grpcPort",
        Peers (other masters) only when there are any, MaxVolumeId."""
        raise NotImplementedError

    def collection_info(self, name: str, detail: bool = False) -> dict[str, Any]:
        """`/collection/info` JSON (§3.9). Raises CollectionNotFound (400)."""
        raise NotImplementedError

    def is_leader(self) -> bool:
        raise NotImplementedError

    def leader(self) -> str | None:
        """The leader's HTTP "host:port" (self included), or None while no leader is known."""
        raise NotImplementedError
