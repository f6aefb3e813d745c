"""SeaweedFiler mutations as weed mount makes them: the mount-root create (empty name, existing
directory is success), typed create errors, rmdir of a non-empty directory answered with the text
mount maps to ENOTEMPTY, rename streams shaped as reference §2.5 (parent, children, then the delete
steps; event_notification always set), and StreamMutateEntry carrying each of them."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer.entry import MODE_DIR
from tests.unit.controlplane.filer.grpc_helpers import grpc_filer
from tests.unit.controlplane.filer.subscribe_helpers import file_entry

MOUNT_SIGNATURE = -338331746


def _dir(name: str) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name, is_directory=True)
    entry.attributes.file_mode = MODE_DIR | 0o777
    return entry


async def test_mount_root_create_and_typed_create_errors(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        root = await f.stub.CreateEntry(filer_pb.CreateEntryRequest(directory="/", entry=_dir("")))
        assert root.error == "" and not root.HasField("metadata_event")
        first = await f.stub.CreateEntry(filer_pb.CreateEntryRequest(directory="/a", entry=_dir("b")))
        again = await f.stub.CreateEntry(filer_pb.CreateEntryRequest(directory="/a", entry=_dir("b")))
        assert first.error == "" and again.error == ""  # an existing directory is success without o_excl
        event = first.metadata_event
        assert (
            event.event_notification.new_entry.name == "b"
            and event.event_notification.new_parent_path == "/a"
        )
        assert first.log_ts_ns == event.ts_ns and first.log_signature == f.core.signature
        excl = await f.stub.CreateEntry(
            filer_pb.CreateEntryRequest(directory="/a", entry=_dir("b"), o_excl=True)
        )
        assert excl.error_code == filer_pb.ENTRY_ALREADY_EXISTS and excl.error
        await f.core.create("/", file_entry("file"))
        under_file = await f.stub.CreateEntry(filer_pb.CreateEntryRequest(directory="/file", entry=_dir("x")))
        assert under_file.error_code == filer_pb.PARENT_IS_FILE


async def test_update_and_delete(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        await f.core.create("/d", file_entry("f"))
        changed = file_entry("f")
        changed.attributes.file_mode = 0o600
        reply = await f.stub.UpdateEntry(
            filer_pb.UpdateEntryRequest(directory="/d", entry=changed, signatures=[MOUNT_SIGNATURE])
        )
        note = reply.metadata_event.event_notification
        assert note.new_entry.attributes.file_mode == 0o600 and MOUNT_SIGNATURE in note.signatures
        root = await f.stub.UpdateEntry(filer_pb.UpdateEntryRequest(directory="/", entry=_dir("")))
        assert not root.HasField("metadata_event")  # mount touches the root's mtime: accepted, not stored
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await f.stub.UpdateEntry(filer_pb.UpdateEntryRequest(directory="/d", entry=file_entry("nope")))
        assert "filer: no entry is found in filer store" in (info.value.details() or "")
        rmdir = await f.stub.DeleteEntry(
            filer_pb.DeleteEntryRequest(
                directory="/", name="d", is_delete_data=True, ignore_recursive_error=True
            )
        )
        assert "fail to delete non-empty folder" in rmdir.error
        unlink = await f.stub.DeleteEntry(
            filer_pb.DeleteEntryRequest(directory="/d", name="f", is_delete_data=True)
        )
        assert unlink.error == "" and unlink.metadata_event.event_notification.old_entry.name == "f"
        missing = await f.stub.DeleteEntry(filer_pb.DeleteEntryRequest(directory="/d", name="f"))
        assert "filer: no entry is found in filer store" in missing.error
        rmdir = await f.stub.DeleteEntry(filer_pb.DeleteEntryRequest(directory="/", name="d"))
        assert rmdir.error == ""


def _shape(messages: list[filer_pb.StreamRenameEntryResponse]) -> list[tuple[str, str, str]]:
    """(old parent, old name, new parent or "" for a delete step) per message."""
    return [
        (m.directory, m.event_notification.old_entry.name, m.event_notification.new_parent_path)
        for m in messages
    ]


async def _tree(f: object) -> None:
    core = f.core  # type: ignore[attr-defined]
    await core.create("/src/t", file_entry("leaf"))
    await core.create("/src", file_entry("top"))


async def test_stream_rename_shape(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        await _tree(f)
        request = filer_pb.StreamRenameEntryRequest(
            old_directory="/", old_name="src", new_directory="/", new_name="dst", signatures=[MOUNT_SIGNATURE]
        )
        messages = [m async for m in f.stub.StreamRenameEntry(request)]
        assert _shape(messages) == [
            ("/", "src", "/"),
            ("/src", "t", "/dst"),
            ("/src/t", "leaf", "/dst/t"),
            ("/src/t", "leaf", ""),
            ("/src", "t", ""),
            ("/src", "top", "/dst"),
            ("/src", "top", ""),
            ("/", "src", ""),
        ]
        assert all(m.HasField("event_notification") and m.ts_ns for m in messages)
        assert messages[0].event_notification.new_entry.name == "dst"
        assert messages[0].event_notification.new_entry.is_directory
        names = [
            r.entry.name async for r in f.stub.ListEntries(filer_pb.ListEntriesRequest(directory="/dst"))
        ]
        assert names == ["t", "top"]
        await f.stub.AtomicRenameEntry(
            filer_pb.AtomicRenameEntryRequest(
                old_directory="/dst", old_name="top", new_directory="/", new_name="t2"
            )
        )
        assert (await f.core.lookup("/", "t2")).name == "t2"


async def _requests(
    *items: filer_pb.StreamMutateEntryRequest,
) -> AsyncIterator[filer_pb.StreamMutateEntryRequest]:
    for item in items:
        yield item


async def test_stream_mutate(tmp_path: Path) -> None:
    async with grpc_filer(tmp_path) as f:
        await _tree(f)
        sig = [MOUNT_SIGNATURE]
        call = f.stub.StreamMutateEntry(
            _requests(
                filer_pb.StreamMutateEntryRequest(
                    request_id=1,
                    create_request=filer_pb.CreateEntryRequest(directory="/", entry=_dir("new"), o_excl=True),
                ),
                filer_pb.StreamMutateEntryRequest(
                    request_id=2,
                    rename_request=filer_pb.StreamRenameEntryRequest(
                        old_directory="/src",
                        old_name="top",
                        new_directory="/new",
                        new_name="top",
                        signatures=sig,
                    ),
                ),
                filer_pb.StreamMutateEntryRequest(
                    request_id=3, delete_request=filer_pb.DeleteEntryRequest(directory="/", name="src")
                ),
                filer_pb.StreamMutateEntryRequest(
                    request_id=4,
                    update_request=filer_pb.UpdateEntryRequest(directory="/", entry=file_entry("ghost")),
                ),
            )
        )
        replies = [r async for r in call]
        by_id: dict[int, list[filer_pb.StreamMutateEntryResponse]] = {}
        for r in replies:
            by_id.setdefault(r.request_id, []).append(r)
        assert [r.is_last for r in by_id[1]] == [True] and by_id[1][0].create_response.error == ""
        assert [r.is_last for r in by_id[2]] == [False, False, True]
        assert by_id[2][0].rename_response.event_notification.new_parent_path == "/new"
        assert "fail to delete non-empty folder" in by_id[3][0].delete_response.error
        assert by_id[4][0].is_last and by_id[4][0].errno == errno.ENOENT
        assert "filer: no entry is found in filer store" in by_id[4][0].error
