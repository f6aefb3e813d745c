"""EC shard locations in the master's state (issue 6): heartbeats' EC inventories become
EcShardsMounted/Unmounted events, the fold tracks shard bits per node, a dead node's shards
are dropped, snapshots round-trip, and lookups name the holders shard by shard."""

from __future__ import annotations

from kelp_pb import events_pb2, master_pb2

from controlplane.master.reconcile import reconcile
from controlplane.master.state import MasterState

LIMIT = 1000


def beat(port: int, *ec: tuple[int, int], collection: str = "c") -> master_pb2.HeartbeatRequest:
    return master_pb2.HeartbeatRequest(
        ip="10.0.0.1", port=port, public_url=f"10.0.0.1:{port}", grpc_port=port + 10000,
        data_center="dc1", rack=f"r{port % 3}", max_volume_count=8,
        ec_shards=[master_pb2.EcShardReport(id=vid, collection=collection, shard_bits=bits)
                   for vid, bits in ec],
    )


def apply(state: MasterState, hb: master_pb2.HeartbeatRequest) -> list[str]:
    events = reconcile(state, hb, time_ns=1, volume_size_limit=LIMIT)
    state.apply_all(events)
    return [str(e.WhichOneof("kind")) for e in events]


def test_shards_mount_unmount_and_node_loss() -> None:
    state = MasterState()
    first = apply(state, beat(8080, (7, 0b1111111)))
    assert first == ["node_joined", "ec_shards_mounted", "max_volume_id_advanced"]
    assert apply(state, beat(8081, (7, 0b11111110000000))) == ["node_joined", "ec_shards_mounted"]
    assert apply(state, beat(8080, (7, 0b1111111))) == []  # unchanged: no events
    holders = state.ec_volumes[7].holders()
    assert sorted(holders) == list(range(14))
    assert holders[0] == ["10.0.0.1:8080"] and holders[13] == ["10.0.0.1:8081"]
    assert state.max_volume_id == 7

    # Shards 0 and 1 unmounted on 8080: only those bits go.
    assert apply(state, beat(8080, (7, 0b1111100))) == ["ec_shards_unmounted"]
    assert 0 not in state.ec_volumes[7].holders() and 2 in state.ec_volumes[7].holders()
    # A duplicate: 8081 also mounts shard 2.
    apply(state, beat(8081, (7, 0b11111110000100)))
    assert state.ec_volumes[7].holders()[2] == ["10.0.0.1:8080", "10.0.0.1:8081"]

    # Snapshot round trip keeps the EC state.
    assert MasterState.from_bytes(state.to_bytes()) == state

    # The node dies: its shards leave the state; the other's stay.
    state.apply(events_pb2.Event(node_left=events_pb2.NodeLeft(node_id="10.0.0.1:8081", time_ns=2)))
    assert set(state.ec_volumes[7].shards) == {"10.0.0.1:8080"}
    # It comes back and reports its shards again: mounted again.
    assert "ec_shards_mounted" in apply(state, beat(8081, (7, 0b11111110000000)))
    assert state.ec_volumes[7].shards["10.0.0.1:8081"] == 0b11111110000000

    # A node stops reporting the volume: every bit of it is unmounted; the last holder's going
    # ends the EC volume.
    apply(state, beat(8081))
    apply(state, beat(8080))
    assert 7 not in state.ec_volumes


def test_collection_delete_drops_ec_volumes() -> None:
    state = MasterState()
    apply(state, beat(8080, (3, 0b11), collection="pics"))
    apply(state, beat(8081, (4, 0b11), collection="docs"))
    state.apply(events_pb2.Event(collection_deleted=events_pb2.CollectionDeleted(name="pics")))
    assert sorted(state.ec_volumes) == [4]
