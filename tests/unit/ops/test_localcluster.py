"""ops.localcluster's pure parts: port allocation and reading a master's /dir/status."""

from __future__ import annotations

import random
import socket

import pytest

from ops.localcluster import (
    GRPC_PORT_OFFSET,
    NoFreePort,
    PortAllocator,
    port_is_free,
    port_range_from_env,
    registered_data_nodes,
)


def free_window(size: int) -> int:
    """A base port such that base..base+size-1 and their gRPC twins are all free right now
    (fixed ports would collide with whatever else this machine runs)."""
    for _ in range(200):
        base = random.randint(20000, 29999 - size)
        ports = [p for port in range(base, base + size) for p in (port, port + GRPC_PORT_OFFSET)]
        if all(port_is_free(p) for p in ports):
            return base
    raise AssertionError("no free port window found")


def test_ports_are_never_handed_out_twice() -> None:
    base = free_window(10)
    ports = PortAllocator(base, base + 9)
    taken = [ports.take(grpc_pair=False) for _ in range(10)]
    assert sorted(taken) == list(range(base, base + 10))
    with pytest.raises(NoFreePort):
        ports.take(grpc_pair=False)


def test_a_port_in_use_is_skipped_and_so_is_one_whose_grpc_twin_is() -> None:
    base = free_window(3)
    with socket.socket() as busy, socket.socket() as busy_twin:
        busy.bind(("127.0.0.1", base))
        busy_twin.bind(("127.0.0.1", base + 1 + GRPC_PORT_OFFSET))
        ports = PortAllocator(base, base + 2)
        assert ports.take() == base + 2
        with pytest.raises(NoFreePort):
            ports.take()


def test_port_range_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KELP_PORT_RANGE", "26000-26999")
    assert port_range_from_env() == (26000, 26999)


def test_registered_data_nodes_reads_kelp_and_seaweedfs_dir_status() -> None:
    status = {"Topology": {"DataCenters": [
        {"Id": "dc1", "Racks": [{"Id": "r1", "DataNodes": [{"Url": "127.0.0.1:8080"},
                                                           {"Url": "127.0.0.1:8081"}]}]},
        {"Id": "dc2", "Racks": [{"Id": "r1", "DataNodes": None}]},
    ]}}
    assert registered_data_nodes(status) == ["127.0.0.1:8080", "127.0.0.1:8081"]
    assert registered_data_nodes({"Topology": {"DataCenters": None}}) == []
