"""The SeaweedFS-compatible filer gRPC adapter (`filer_pb.SeaweedFiler`) over FilerCore, for the real
`weed` tools: mount (lookups, listings, mutations, assign/lookup volume, statfs, metadata stream),
filer.meta.backup (ListEntries, SubscribeMetadata), shell fs.* (lookups, listings), KvGet/KvPut and
the mount peer registry (MountRegister/MountList).

Each method decodes the request into core arguments, makes one core call and encodes the reply.
Where errors go is part of the wire contract (reference §1.4, §4.2):
- CreateEntry: `error` + `error_code` in the response; DeleteEntry: `error` in the response (mount
  looks for "fail to delete non-empty folder"); AssignVolume: `error` in the response (retried);
- everything else: a gRPC status from `_STATUS`, whose message is the core error's text (Go clients
  match substrings such as "filer: no entry is found in filer store", sent with code UNKNOWN as the
  real filer does);
- StreamMutateEntry: per request, the unary method's response; a status-type failure becomes
  `error` + `errno` on a final message, so one failed mutation does not end the stream.

Must not import kelp_http, the store's internals or ops: only the core, its errors, the store's
public errors, subscribe.py, mount_registry.py and the engine's InvalidFileId.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from controlplane.filer import paths
from controlplane.filer.core import FilerCore
from controlplane.filer.errors import (
    ChunkWriteFailed,
    DirectoryNotEmpty,
    EntryExists,
    EntryNotFound,
    ExistingIsDirectory,
    ExistingIsFile,
    FilerError,
    InvalidPath,
    InvalidRename,
    NameTooLong,
    ParentIsFile,
)
from controlplane.filer.mount_registry import InvalidPeerAddress, MountRegistry, RegistryFull
from controlplane.filer.store.errors import StoreError, StoreUnavailable
from controlplane.filer.subscribe import ChangeNotifier, EventFilter, SubscriberBehind, subscribe
from dataplane.volume.engine.errors import InvalidFileId

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Context = grpc.aio.ServicerContext[Any, Any]

# Entries per store read while streaming a listing: bounds memory for a 10,000-entry page.
LIST_PAGE = 1000
# A ListEntries with limit 0 lists at most this many (clients always send page size + 1).
DEFAULT_LIST_LIMIT = 100_000
DEFAULT_DIR_BUCKETS = "/buckets"

# Status codes of errors that travel as gRPC statuses (most specific class first in the MRO walk).
_STATUS: dict[type[Exception], grpc.StatusCode] = {
    EntryNotFound: grpc.StatusCode.UNKNOWN,  # what the real filer sends; clients match the text
    NameTooLong: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidPath: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidRename: grpc.StatusCode.INVALID_ARGUMENT,
    EntryExists: grpc.StatusCode.ALREADY_EXISTS,
    ParentIsFile: grpc.StatusCode.FAILED_PRECONDITION,
    ExistingIsDirectory: grpc.StatusCode.FAILED_PRECONDITION,
    ExistingIsFile: grpc.StatusCode.FAILED_PRECONDITION,
    DirectoryNotEmpty: grpc.StatusCode.FAILED_PRECONDITION,
    ChunkWriteFailed: grpc.StatusCode.UNAVAILABLE,
    StoreUnavailable: grpc.StatusCode.UNAVAILABLE,  # clients retry UNAVAILABLE
    SubscriberBehind: grpc.StatusCode.OUT_OF_RANGE,
    RegistryFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    InvalidPeerAddress: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidFileId: grpc.StatusCode.INVALID_ARGUMENT,  # a chunk's file_id a client sent
}

# CreateEntryResponse.error_code for the typed create failures.
_CREATE_CODE: dict[type[Exception], int] = {
    NameTooLong: filer_pb.ENTRY_NAME_TOO_LONG,
    ParentIsFile: filer_pb.PARENT_IS_FILE,
    ExistingIsDirectory: filer_pb.EXISTING_IS_DIRECTORY,
    ExistingIsFile: filer_pb.EXISTING_IS_FILE,
    EntryExists: filer_pb.ENTRY_ALREADY_EXISTS,
}

# errno of a failed StreamMutateEntry request (mount returns it to the kernel).
_ERRNO: dict[type[Exception], int] = {
    EntryNotFound: errno.ENOENT,
    NameTooLong: errno.ENAMETOOLONG,
    InvalidPath: errno.EINVAL,
    InvalidRename: errno.EINVAL,
    InvalidFileId: errno.EINVAL,
    EntryExists: errno.EEXIST,
    ParentIsFile: errno.ENOTDIR,
    ExistingIsDirectory: errno.EISDIR,
    ExistingIsFile: errno.ENOTDIR,
    DirectoryNotEmpty: errno.ENOTEMPTY,
}

# Errors an adapter turns into a reply; anything else is a bug and reaches grpc as UNKNOWN.
_HANDLED = (FilerError, StoreError, SubscriberBehind, RegistryFull, InvalidPeerAddress, InvalidFileId)


def _lookup_table(table: dict[type[Exception], _T], err: Exception, default: _T) -> _T:
    for cls in type(err).__mro__:
        if cls in table:
            return table[cls]
    return default


@dataclass(frozen=True, slots=True)
class FilerGrpcSettings:
    """What GetFilerConfiguration and SubscribeMetadata need beyond the core."""

    masters: tuple[str, ...] = ()  # "ip:port" of each master
    replication: str = ""  # default replication ("" = the master's)
    collection: str = ""  # default collection
    max_mb: int = 4  # chunk size limit of HTTP uploads, MiB
    dir_buckets: str = DEFAULT_DIR_BUCKETS
    version: str = "kelp"
    filer_group: str = ""


@dataclass(frozen=True, slots=True)
class VolumeUsage:
    """Statistics' answer (bytes and files), as the master reports it for a collection."""

    total_size: int = 0
    used_size: int = 0
    file_count: int = 0


UsageSource = Callable[[filer_pb.StatisticsRequest], Awaitable[VolumeUsage]]


async def _no_usage(request: filer_pb.StatisticsRequest) -> VolumeUsage:
    del request
    return VolumeUsage()


def _directory(directory: str) -> str:
    return paths.normalize(directory or paths.ROOT)


def _place(directory: str, name: str) -> tuple[str, str]:
    """(normal directory, checked name) of a lookup's pair; an empty name means the directory
    itself (("/", "") is the root)."""
    if not name:
        return paths.split(_directory(directory))
    return _directory(directory), paths.check_name(name)


def _child(directory: str, name: str) -> tuple[str, str]:
    """(normal directory, checked name) of an entry to change: the name may not be empty."""
    return _directory(directory), paths.check_name(name)


def _response_event(event: filer_pb.SubscribeMetadataResponse) -> filer_pb.SubscribeMetadataResponse | None:
    """The event to echo in a mutation's response, if it is one (creating "/" logs nothing)."""
    return event if event.HasField("event_notification") else None


def rename_stream(
    events: Iterable[filer_pb.SubscribeMetadataResponse],
) -> list[filer_pb.StreamRenameEntryResponse]:
    """The StreamRenameEntry messages for the core's rename events (reference §2.5): for each moved
    entry, parent first, {old_entry{name}, new_entry, new_parent_path}; after its children, the
    delete step {old_entry{name}}. An entry the rename replaced is one delete step; directories the
    rename had to create are not sent (the mount already has them). event_notification is always
    set."""
    out: list[filer_pb.StreamRenameEntryResponse] = []
    open_moves: list[tuple[str, filer_pb.StreamRenameEntryResponse]] = []  # (old path, delete step)

    def close_until(parent: str | None) -> None:
        while open_moves and (parent is None or not paths.is_within(parent, open_moves[-1][0])):
            out.append(open_moves.pop()[1])

    for event in events:
        note = event.event_notification
        if not note.HasField("old_entry"):
            continue
        name = note.old_entry.name
        close_until(event.directory)
        message = filer_pb.StreamRenameEntryResponse(directory=event.directory, ts_ns=event.ts_ns)
        message.event_notification.old_entry.name = name
        message.event_notification.signatures.extend(note.signatures)
        if not note.HasField("new_entry"):  # a replaced destination
            out.append(message)
            continue
        delete_step = filer_pb.StreamRenameEntryResponse()
        delete_step.CopyFrom(message)
        message.event_notification.new_entry.CopyFrom(note.new_entry)
        message.event_notification.new_parent_path = note.new_parent_path
        out.append(message)
        open_moves.append((paths.join(event.directory, name), delete_step))
    close_until(None)
    return out


class FilerServicer:
    """filer_pb.SeaweedFiler over a FilerCore. `run()` (the change notifier) belongs in the server's
    TaskGroup; the core's server may call `notifier.notify_nowait()` after local commits."""

    def __init__(
        self,
        core: FilerCore,
        *,
        settings: FilerGrpcSettings | None = None,
        notifier: ChangeNotifier | None = None,
        registry: MountRegistry | None = None,
        usage: UsageSource = _no_usage,
    ) -> None:
        self._core = core
        self._settings = settings or FilerGrpcSettings()
        self.notifier = notifier or ChangeNotifier(core.store)
        self.registry = registry or MountRegistry()
        self._usage = usage

    async def run(self) -> None:
        await self.notifier.run()

    # -- lookups and listings ---------------------------------------------------------------------

    async def LookupDirectoryEntry(
        self, request: filer_pb.LookupDirectoryEntryRequest, context: Context
    ) -> filer_pb.LookupDirectoryEntryResponse:
        try:
            entry = await self._core.lookup(*_place(request.directory, request.name))
        except _HANDLED as err:
            await _abort(context, err)
        return filer_pb.LookupDirectoryEntryResponse(entry=entry)

    async def ListEntries(
        self, request: filer_pb.ListEntriesRequest, context: Context
    ) -> AsyncIterator[filer_pb.ListEntriesResponse]:
        try:
            directory = _directory(request.directory)
        except _HANDLED as err:
            await _abort(context, err)
        left = request.limit or DEFAULT_LIST_LIMIT
        start, inclusive = request.startFromFileName, request.inclusiveStartFrom
        while left > 0:
            try:
                page = await self._core.list(
                    directory, start=start, inclusive=inclusive, prefix=request.prefix,
                    limit=min(left, LIST_PAGE),
                )
            except _HANDLED as err:
                await _abort(context, err)
            for entry in page:
                if request.omit_chunks:
                    del entry.chunks[:]
                # snapshot_ts_ns stays 0: the mount then replays every event it buffered while
                # listing, which is always correct (events apply idempotently); a time taken here
                # could precede a late-committing transaction's event and lose it.
                yield filer_pb.ListEntriesResponse(entry=entry)
            if len(page) < min(left, LIST_PAGE):
                return
            left -= len(page)
            start, inclusive = page[-1].name, False

    # -- mutations -------------------------------------------------------------------------------

    async def CreateEntry(
        self, request: filer_pb.CreateEntryRequest, context: Context
    ) -> filer_pb.CreateEntryResponse:
        return await self._create(request)

    async def _create(self, request: filer_pb.CreateEntryRequest) -> filer_pb.CreateEntryResponse:
        try:
            directory = _directory(request.directory)
            if request.entry.name:  # empty: the root (the mount creates its root this way)
                paths.check_name(request.entry.name)
            self._core.path_rules.check_entry(directory, request.entry)  # filer.conf: read_only, ttl
            event = await self._core.create(
                directory, request.entry, o_excl=request.o_excl, signatures=request.signatures,
                skip_parent_check=request.skip_check_parent_directory,
            )
        except _HANDLED as err:
            return filer_pb.CreateEntryResponse(
                error=str(err), error_code=_lookup_table(_CREATE_CODE, err, filer_pb.OK)
            )
        return filer_pb.CreateEntryResponse(
            metadata_event=_response_event(event), log_ts_ns=event.ts_ns, log_signature=self._core.signature
        )

    async def UpdateEntry(
        self, request: filer_pb.UpdateEntryRequest, context: Context
    ) -> filer_pb.UpdateEntryResponse:
        try:
            return await self._update(request)
        except _HANDLED as err:
            await _abort(context, err)

    async def _update(self, request: filer_pb.UpdateEntryRequest) -> filer_pb.UpdateEntryResponse:
        directory = _directory(request.directory)
        if request.entry.name or directory != paths.ROOT:  # the mount updates "/" (name "") too
            paths.check_name(request.entry.name)
        event = await self._core.update(directory, request.entry, signatures=request.signatures)
        return filer_pb.UpdateEntryResponse(
            metadata_event=_response_event(event), log_ts_ns=event.ts_ns, log_signature=self._core.signature
        )

    async def DeleteEntry(
        self, request: filer_pb.DeleteEntryRequest, context: Context
    ) -> filer_pb.DeleteEntryResponse:
        return await self._delete(request)

    async def _delete(self, request: filer_pb.DeleteEntryRequest) -> filer_pb.DeleteEntryResponse:
        try:
            events = await self._core.delete(
                *_child(request.directory, request.name), recursive=request.is_recursive,
                ignore_recursive_error=request.ignore_recursive_error, delete_data=request.is_delete_data,
                signatures=request.signatures,
            )
        except _HANDLED as err:
            return filer_pb.DeleteEntryResponse(error=str(err))
        return filer_pb.DeleteEntryResponse(metadata_event=events[-1] if events else None)

    async def AtomicRenameEntry(
        self, request: filer_pb.AtomicRenameEntryRequest, context: Context
    ) -> filer_pb.AtomicRenameEntryResponse:
        try:
            await self._rename(request)
        except _HANDLED as err:
            await _abort(context, err)
        return filer_pb.AtomicRenameEntryResponse()

    async def StreamRenameEntry(
        self, request: filer_pb.StreamRenameEntryRequest, context: Context
    ) -> AsyncIterator[filer_pb.StreamRenameEntryResponse]:
        try:
            events = await self._rename(request)
        except _HANDLED as err:
            await _abort(context, err)
        for message in rename_stream(events):
            yield message

    async def _rename(
        self, request: filer_pb.StreamRenameEntryRequest | filer_pb.AtomicRenameEntryRequest
    ) -> list[filer_pb.SubscribeMetadataResponse]:
        old_dir, old_name = _child(request.old_directory, request.old_name)
        new_dir, new_name = _child(request.new_directory, request.new_name)
        return await self._core.rename(old_dir, old_name, new_dir, new_name, signatures=request.signatures)

    async def StreamMutateEntry(
        self, request_iterator: AsyncIterator[filer_pb.StreamMutateEntryRequest], context: Context
    ) -> AsyncIterator[filer_pb.StreamMutateEntryResponse]:
        # One request at a time, in order: the mount waits for each answer before the next.
        async for request in request_iterator:
            async for reply in self._mutate(request):
                yield reply

    async def _mutate(
        self, request: filer_pb.StreamMutateEntryRequest
    ) -> AsyncIterator[filer_pb.StreamMutateEntryResponse]:
        rid = request.request_id
        kind = request.WhichOneof("request")
        try:
            if kind == "create_request":
                created = await self._create(request.create_request)
                yield filer_pb.StreamMutateEntryResponse(
                    request_id=rid, is_last=True, create_response=created
                )
            elif kind == "update_request":
                updated = await self._update(request.update_request)
                yield filer_pb.StreamMutateEntryResponse(
                    request_id=rid, is_last=True, update_response=updated
                )
            elif kind == "delete_request":
                deleted = await self._delete(request.delete_request)
                yield filer_pb.StreamMutateEntryResponse(
                    request_id=rid, is_last=True, delete_response=deleted
                )
            elif kind == "rename_request":
                for message in rename_stream(await self._rename(request.rename_request)):
                    yield filer_pb.StreamMutateEntryResponse(request_id=rid, rename_response=message)
                yield filer_pb.StreamMutateEntryResponse(
                    request_id=rid, is_last=True, rename_response=filer_pb.StreamRenameEntryResponse()
                )
            else:
                yield filer_pb.StreamMutateEntryResponse(
                    request_id=rid, is_last=True, error="empty mutation request", errno=errno.EINVAL
                )
        except _HANDLED as err:
            yield filer_pb.StreamMutateEntryResponse(
                request_id=rid, is_last=True, error=str(err), errno=_lookup_table(_ERRNO, err, errno.EIO)
            )

    # -- volumes ----------------------------------------------------------------------------------

    async def AssignVolume(
        self, request: filer_pb.AssignVolumeRequest, context: Context
    ) -> filer_pb.AssignVolumeResponse:
        try:
            got = await self._core.assign(
                request.count, request.collection, request.replication, request.ttl_sec, request.disk_type,
                request.data_center, request.path,
            )
        except _HANDLED as err:
            return filer_pb.AssignVolumeResponse(error=str(err))
        location = filer_pb.Location(url=got.url, public_url=got.public_url, grpc_port=got.grpc_port)
        return filer_pb.AssignVolumeResponse(
            file_id=got.fid, count=got.count, auth=got.auth, collection=got.collection,
            replication=got.replication, location=location,
        )

    async def LookupVolume(
        self, request: filer_pb.LookupVolumeRequest, context: Context
    ) -> filer_pb.LookupVolumeResponse:
        reply = filer_pb.LookupVolumeResponse()
        for key in request.volume_ids:
            vid = key.split(",", 1)[0].strip()  # a whole fid is accepted too
            if not vid.isdigit():
                continue
            try:
                found = await self._core.lookup_volume(int(vid))
            except _HANDLED as err:
                await _abort(context, err)
            if found:
                reply.locations_map[key].locations.extend(
                    filer_pb.Location(url=loc.url, public_url=loc.public_url, grpc_port=loc.grpc_port,
                                      data_center=loc.data_center)
                    for loc in found
                )
        return reply

    async def Statistics(
        self, request: filer_pb.StatisticsRequest, context: Context
    ) -> filer_pb.StatisticsResponse:
        usage = await self._usage(request)
        return filer_pb.StatisticsResponse(
            total_size=usage.total_size, used_size=usage.used_size, file_count=usage.file_count
        )

    async def GetFilerConfiguration(
        self, request: filer_pb.GetFilerConfigurationRequest, context: Context
    ) -> filer_pb.GetFilerConfigurationResponse:
        s = self._settings
        return filer_pb.GetFilerConfigurationResponse(
            masters=s.masters, replication=s.replication, collection=s.collection, max_mb=s.max_mb,
            dir_buckets=s.dir_buckets, cipher=False, signature=self._core.signature, version=s.version,
            filer_group=s.filer_group,
        )

    # -- change stream ----------------------------------------------------------------------------

    async def SubscribeMetadata(
        self, request: filer_pb.SubscribeMetadataRequest, context: Context
    ) -> AsyncIterator[filer_pb.SubscribeMetadataResponse]:
        log.info(
            "subscriber joined client=%s id=%d epoch=%d prefix=%s since_ns=%d",
            request.client_name, request.client_id, request.client_epoch, request.path_prefix,
            request.since_ns,
        )
        stream = subscribe(
            self._core.store, self.notifier, EventFilter.from_request(request), request.since_ns,
            filer_signature=self._core.signature,
        )
        try:
            async for event in stream:
                yield event
        except _HANDLED as err:
            await _abort(context, err)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    SubscribeLocalMetadata = SubscribeMetadata  # one shared store: every filer's log is local

    # -- key/value --------------------------------------------------------------------------------

    async def KvGet(self, request: filer_pb.KvGetRequest, context: Context) -> filer_pb.KvGetResponse:
        def read() -> bytes | None:
            with self._core.store.transaction(read_only=True) as tx:
                return tx.kv_get(request.key)

        try:
            value = await asyncio.to_thread(read)
        except StoreError as err:
            return filer_pb.KvGetResponse(error=str(err))
        return filer_pb.KvGetResponse(value=value or b"")  # absent: empty value, no error

    async def KvPut(self, request: filer_pb.KvPutRequest, context: Context) -> filer_pb.KvPutResponse:
        def write() -> None:
            with self._core.store.transaction() as tx:
                tx.kv_put(request.key, request.value)

        try:
            await asyncio.to_thread(write)
        except StoreError as err:
            return filer_pb.KvPutResponse(error=str(err))
        return filer_pb.KvPutResponse()

    # -- mount peer registry --------------------------------------------------------------------

    async def MountRegister(
        self, request: filer_pb.MountRegisterRequest, context: Context
    ) -> filer_pb.MountRegisterResponse:
        try:
            self.registry.register(
                request.peer_addr, rack=request.rack, data_center=request.data_center,
                ttl_seconds=request.ttl_seconds,
            )
        except _HANDLED as err:
            await _abort(context, err)
        return filer_pb.MountRegisterResponse()

    async def MountList(
        self, request: filer_pb.MountListRequest, context: Context
    ) -> filer_pb.MountListResponse:
        return filer_pb.MountListResponse(mounts=[
            filer_pb.MountInfo(peer_addr=p.peer_addr, rack=p.rack, data_center=p.data_center,
                               last_seen_ns=p.last_seen_ns)
            for p in self.registry.live()
        ])


async def _abort(context: Context, err: Exception) -> Any:
    """End the call with err's status; never returns (typed Any so callers need no dead return)."""
    await context.abort(_lookup_table(_STATUS, err, grpc.StatusCode.UNKNOWN), str(err))


def register_grpc(
    server: grpc.aio.Server,
    core: FilerCore,
    *,
    settings: FilerGrpcSettings | None = None,
    usage: UsageSource = _no_usage,
) -> FilerServicer:
    """Add filer_pb.SeaweedFiler to `server`; run the returned servicer's `run()` in the server's
    TaskGroup (it wakes SubscribeMetadata streams)."""
    servicer = FilerServicer(core, settings=settings, usage=usage)
    weed_filer_pb2_grpc.add_SeaweedFilerServicer_to_server(servicer, server)
    return servicer
