"""SeaweedFiler lookups and listings as the weed tools expect them: the root entry for
("/", ""), the exact not-found text, listing order with limit / start-after / inclusive / prefix
paging, and bad paths refused with INVALID_ARGUMENT."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.errors import NOT_FOUND_MESSAGE
from tests.unit.controlplane.filer.grpc_helpers import grpc_filer
from tests.unit.controlplane.filer.subscribe_helpers import file_entry


async def _names(stub: object, **request: object) -> list[str]:
    call = stub.ListEntries(filer_pb.ListEntriesRequest(**request))  # type: ignore[attr-defined]
    return [reply.entry.name async for reply in call]


async def test_root_lookup_and_not_found(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        root = await f.stub.LookupDirectoryEntry(filer_pb.LookupDirectoryEntryRequest(directory="/", name=""))
        assert root.entry.is_directory and root.entry.attributes.file_mode & (1 << 31)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await f.stub.LookupDirectoryEntry(
                filer_pb.LookupDirectoryEntryRequest(directory="/etc/seaweedfs", name="filer.conf")
            )
        assert info.value.details() == NOT_FOUND_MESSAGE
        await f.core.create("/a", file_entry("x"))
        found = await f.stub.LookupDirectoryEntry(
            filer_pb.LookupDirectoryEntryRequest(directory="/a", name="x")
        )
        assert found.entry.name == "x" and found.entry.attributes.file_size == 1


async def test_listing_pages_like_the_tools(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        names = [f"n{i:02d}" for i in range(25)] + ["other"]
        for name in names:
            await f.core.create("/d", file_entry(name))
        assert await _names(f.stub, directory="/d", limit=10001) == sorted(names)
        assert await _names(f.stub, directory="/d", limit=3) == ["n00", "n01", "n02"]
        assert await _names(f.stub, directory="/d", limit=2, startFromFileName="n02") == ["n03", "n04"]
        assert await _names(
            f.stub, directory="/d", limit=2, startFromFileName="n02", inclusiveStartFrom=True
        ) == ["n02", "n03"]
        assert await _names(f.stub, directory="/d", prefix="oth") == ["other"]
        assert await _names(f.stub, directory="/missing", limit=10) == []
        # The stream is paged internally: more than a store page comes back whole and in order.
        listed = [r.entry async for r in f.stub.ListEntries(filer_pb.ListEntriesRequest(directory="/"))]
        assert [e.name for e in listed] == ["d"] and listed[0].attributes.file_mode


async def test_omit_chunks(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        entry = file_entry("c")
        entry.chunks.add(file_id="3,01637037d6", size=1)
        await f.core.create("/", entry)
        full = await _entries(f.stub, directory="/")
        bare = await _entries(f.stub, directory="/", omit_chunks=True)
        assert len(full[0].chunks) == 1 and len(bare[0].chunks) == 0


async def _entries(stub: object, **request: object) -> list[filer_pb.Entry]:
    call = stub.ListEntries(filer_pb.ListEntriesRequest(**request))  # type: ignore[attr-defined]
    return [reply.entry async for reply in call]


@pytest.mark.parametrize(
    ("directory", "name"), [("/a/../b", "x"), ("/a", "x\x00y"), ("/a", ".."), ("/a", "y" * 300)]
)
async def test_bad_paths_are_invalid_argument(tmp_path: Path, directory: str, name: str) -> None:
    async with grpc_filer(tmp_path) as f:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await f.stub.LookupDirectoryEntry(
                filer_pb.LookupDirectoryEntryRequest(directory=directory, name=name)
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
