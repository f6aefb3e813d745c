"""A volume server erasure-codes one of its read-only volumes in place (kelp.v1.VolumeAdmin
EncodeToEc): the 14 shards replace the .dat/.idx, every needle reads back over HTTP from the
shards, still with any 4 shard files deleted (reconstructed from the other ten); a writable
volume is refused and left as it was."""

from __future__ import annotations

import grpc
from kelp_pb import volume_pb2, volume_pb2_grpc

from ops.localcluster import http_call, multipart_file

from .conftest import ClusterFactory

NEEDLES = 40


def test_encode_in_place_then_read_through_lost_shards(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(1)
    node = cluster.volume_nodes[0]
    stored: dict[str, bytes] = {}
    for n in range(NEEDLES):
        assign = http_call(cluster.master, "GET", "/dir/assign").json()
        data = bytes([n % 251]) * (1000 + 997 * n)  # 1 KB .. 40 KB: needles cross 1 MiB rows
        body, ctype = multipart_file(f"f{n}.bin", data)
        reply = http_call(assign["url"], "POST", f"/{assign['fid']}", body, {"Content-Type": ctype})
        assert reply.status == 201
        stored[assign["fid"]] = data
    by_volume: dict[int, list[str]] = {}
    for fid in stored:
        by_volume.setdefault(int(fid.split(",")[0]), []).append(fid)
    vid, fids = max(by_volume.items(), key=lambda item: len(item[1]))

    with grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}") as channel:
        admin = volume_pb2_grpc.VolumeAdminStub(channel)
        try:
            admin.EncodeToEc(volume_pb2.EncodeToEcRequest(volume_id=vid), timeout=60)
            raise AssertionError("a writable volume was erasure coded")
        except grpc.RpcError as err:
            assert "read-only" in (err.details() or ""), err.details()
        assert (node.data_dir / f"{vid}.dat").exists()
        admin.MarkReadOnly(volume_pb2.MarkReadOnlyRequest(volume_id=vid, read_only=True), timeout=30)
        reply = admin.EncodeToEc(volume_pb2.EncodeToEcRequest(volume_id=vid), timeout=120)
    assert reply.entries == len(fids)
    assert not (node.data_dir / f"{vid}.dat").exists() and (node.data_dir / f"{vid}.ecx").exists()
    assert all((node.data_dir / f"{vid}.ec{i:02d}").exists() for i in range(14))

    def read_all() -> None:
        for fid in fids:
            got = http_call(node.address, "GET", f"/{fid}")
            assert got.status == 200 and got.body == stored[fid], fid

    read_all()
    for shard in (0, 3, 10, 13):  # data and parity: any four may go
        (node.data_dir / f"{vid}.ec{shard:02d}").unlink()
    read_all()
