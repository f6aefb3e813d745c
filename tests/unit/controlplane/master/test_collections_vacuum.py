"""Collection delete reaches every server and the log; vacuum compacts only volumes whose
garbage exceeds the threshold; /vol/grow counts the locations it created."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.master.core import (
    AssignRequest,
    CollectionNotFound,
    InvalidCount,
    NotEnoughFreeVolumes,
    PlacementImpossible,
)
from tests.unit.controlplane.master.fakes import FakeServer, four_servers, heartbeat_all, make_core


def test_delete_collection_on_every_server_then_forgotten() -> None:
    async def scenario() -> None:
        core, admin, event_log, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        await core.assign(AssignRequest(collection="pics"))
        await core.assign(AssignRequest(collection="docs"))
        await core.delete_collection("pics")
        deleted_on = {node for op, node, name in admin.calls if op == "delete_collection" and name == "pics"}
        assert deleted_on == set(admin.servers)
        assert event_log.state.collections() == {"docs"}
        await heartbeat_all(core, admin)  # the servers no longer report them: nothing comes back
        assert event_log.state.collections() == {"docs"}
        with pytest.raises(CollectionNotFound, match="collection pics does not exist"):
            await core.delete_collection("pics")
        await core.stop()

    asyncio.run(scenario())


def test_vacuum_compacts_only_volumes_over_the_threshold() -> None:
    async def scenario() -> None:
        dirty, clean = FakeServer("10.0.0.1", 8080, garbage=0.5), FakeServer("10.0.0.2", 8080, garbage=0.1)
        core, admin, _, _ = make_core([dirty, clean])
        await core.start()
        await heartbeat_all(core, admin)
        await core.grow(AssignRequest(), 4)
        await core.vacuum(0.3)
        vacuumed = {node for op, node, _ in admin.calls if op == "vacuum"}
        assert vacuumed == {dirty.node_id}
        admin.calls.clear()
        await core.vacuum(0.6)
        assert [c for c in admin.calls if c[0] == "vacuum"] == []
        await core.stop()

    asyncio.run(scenario())


def test_vol_grow_counts_locations_and_validates() -> None:
    async def scenario() -> None:
        core, admin, _, _ = make_core(four_servers())
        await core.start()
        await heartbeat_all(core, admin)
        assert await core.grow(AssignRequest(replication="001"), 2) == 4
        with pytest.raises(InvalidCount):
            await core.grow(AssignRequest(), 0)
        with pytest.raises(NotEnoughFreeVolumes, match="only 28 volumes left, not enough for 100000"):
            await core.grow(AssignRequest(), 100_000)
        with pytest.raises(PlacementImpossible):
            await core.grow(AssignRequest(replication="200"), 1)
        await core.stop()

    asyncio.run(scenario())
