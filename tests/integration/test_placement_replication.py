"""Volume growth places replicas as the xyz replication string says, on a real cluster of four
volume servers over two data centers and two racks (dc1/r1: two servers, dc1/r2: one,
dc2/r1: one):

* every volume the master grew (read back from `/vol/status`, which lists each replica under its
  data center and rack) has x+1 data centers, y+1 racks in its main data center and z+1
  servers in its main rack, for 000, 001, 010, 100 and 110;
* `dataCenter`, `rack` and `dataNode` in `/dir/assign` pick a volume with a replica there;
* a string this topology cannot satisfy (200, 020, 002) gets SeaweedFS's 503 + Retry-After: 1
  "growth in progress" on assign and 406 on `/vol/grow`, and nothing is created for it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pytest

from ops.localcluster import LocalCluster, VolumeSpec, http_call

from .conftest import ClusterFactory

SLOTS_PER_SERVER = 20  # room for every growth below (7 + 12 + 6 + 12 + 9 slots of 80)
TOPOLOGY = (
    VolumeSpec("dc1", "r1", SLOTS_PER_SERVER),
    VolumeSpec("dc1", "r1", SLOTS_PER_SERVER),
    VolumeSpec("dc1", "r2", SLOTS_PER_SERVER),
    VolumeSpec("dc2", "r1", SLOTS_PER_SERVER),
)
PLACEABLE = ("000", "001", "010", "100", "110")
UNPLACEABLE = ("200", "020", "002")


@dataclass(frozen=True, slots=True)
class Place:
    url: str
    data_center: str
    rack: str


def topology_places(master: str) -> dict[str, Place]:
    """Every data node the master knows, by URL, with its data center and rack (/dir/status)."""
    status = http_call(master, "GET", "/dir/status")
    assert status.status == 200, status.body
    places: dict[str, Place] = {}
    for dc in status.json()["Topology"]["DataCenters"] or []:
        for rack in dc["Racks"] or []:
            for node in rack["DataNodes"] or []:
                places[node["Url"]] = Place(node["Url"], dc["Id"], rack["Id"])
    return places


def assert_placement_obeys(replication: str, places: list[Place]) -> None:
    """xyz: x+1 data centers; in the main one y+1 racks; in the main rack z+1 servers."""
    x, y, z = (int(c) for c in replication)
    assert len(places) == x + y + z + 1, places
    assert len({p.url for p in places}) == len(places), f"a server holds two copies: {places}"
    data_centers = {p.data_center for p in places}
    assert len(data_centers) == x + 1, places
    main_dc = max(data_centers, key=lambda dc: sum(p.data_center == dc for p in places))
    in_main_dc = [p for p in places if p.data_center == main_dc]
    racks = {p.rack for p in in_main_dc}
    assert len(racks) == y + 1, places
    main_rack = max(racks, key=lambda r: sum(p.rack == r for p in in_main_dc))
    assert sum(p.rack == main_rack for p in in_main_dc) == z + 1, places


def replication_text(placement: dict[str, int]) -> str:
    """/vol/status's ReplicaPlacement ({"dc":x,"rack":y,"node":z}, zeros left out) as "xyz"."""
    return f"{placement.get('dc', 0)}{placement.get('rack', 0)}{placement.get('node', 0)}"


def volumes_by_id(master: str) -> dict[int, tuple[str, list[Place]]]:
    """Every volume in /vol/status: id -> (replication, the places of its replicas)."""
    status = http_call(master, "GET", "/vol/status")
    assert status.status == 200, status.body
    volumes: dict[int, tuple[str, list[Place]]] = {}
    places: dict[int, list[Place]] = defaultdict(list)
    for dc, racks in status.json()["Volumes"]["DataCenters"].items():
        for rack, servers in racks.items():
            for url, infos in servers.items():
                for info in infos or []:
                    places[info["Id"]].append(Place(url, dc, rack))
                    volumes[info["Id"]] = (replication_text(info["ReplicaPlacement"]), places[info["Id"]])
    return volumes


def lookup(master: str, fid: str) -> list[str]:
    located = http_call(master, "GET", f"/dir/lookup?volumeId={fid.split(',')[0]}")
    assert located.status == 200, located.body
    return [loc["url"] for loc in located.json()["locations"]]


@pytest.fixture
def cluster(cluster_factory: ClusterFactory) -> LocalCluster:
    return cluster_factory(volumes=list(TOPOLOGY))


def test_replicas_land_where_the_replication_string_says(cluster: LocalCluster) -> None:
    master = cluster.master
    for replication in PLACEABLE:
        assigned = http_call(master, "GET", f"/dir/assign?replication={replication}")
        assert assigned.status == 200, (replication, assigned.body)

    volumes = volumes_by_id(master)
    grown = {replication for replication, _ in volumes.values()}
    assert grown == set(PLACEABLE)
    for vid, (replication, places) in volumes.items():
        try:
            assert_placement_obeys(replication, places)
        except AssertionError as err:
            raise AssertionError(f"volume {vid} ({replication}) is misplaced: {err}") from None


def test_assign_honours_data_center_rack_and_data_node(cluster: LocalCluster) -> None:
    master = cluster.master
    by_url = {node.address: spec for node, spec in zip(cluster.volume_nodes, cluster.specs, strict=True)}
    lonely_rack = next(url for url, spec in by_url.items() if spec.rack == "r2")
    other_dc = next(url for url, spec in by_url.items() if spec.data_center == "dc2")

    assigned = http_call(master, "GET", "/dir/assign?dataCenter=dc2")
    assert assigned.status == 200, assigned.body
    assert lookup(master, assigned.json()["fid"]) == [other_dc]

    assigned = http_call(master, "GET", "/dir/assign?dataCenter=dc1&rack=r2")
    assert assigned.status == 200, assigned.body
    assert lookup(master, assigned.json()["fid"]) == [lonely_rack]

    assigned = http_call(master, "GET", f"/dir/assign?replication=100&dataNode={other_dc}")
    assert assigned.status == 200, assigned.body
    assert other_dc in lookup(master, assigned.json()["fid"])


def test_unplaceable_replication_is_refused_and_grows_nothing(cluster: LocalCluster) -> None:
    master = cluster.master
    for replication in UNPLACEABLE:
        assigned = http_call(master, "GET", f"/dir/assign?replication={replication}")
        assert assigned.status == 503, (replication, assigned.body)
        assert assigned.header("Retry-After") == "1", replication
        assert "volume growth in progress" in assigned.json()["error"], assigned.body

        grown = http_call(master, "GET", f"/vol/grow?replication={replication}&count=1")
        assert grown.status == 406, (replication, grown.body)
        assert grown.json()["error"], grown.body
    assert volumes_by_id(master) == {}
