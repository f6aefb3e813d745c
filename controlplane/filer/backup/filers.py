"""The primary filers, reached over gRPC (filer_pb.SeaweedFiler), one at a time with failover.

`FilerSet` holds the `-filer` addresses ("host:port", gRPC at port + 10000, or weed's
"host:port.grpcPort") and one channel per filer. Calls go to the current filer; `fail_over()`
moves to the next. A dead or unreachable filer shows up as an RpcError with a status other than
OUT_OF_RANGE (which means "the change log from your time is gone" and is never retried), and a
silent one (a stopped process, a broken network) through the channel's keepalive pings.

Imports grpc, kelp_pb and the address parser; no store.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, ServerAddress

CLIENT_NAME = "kelp_meta_backup"
LIST_PAGE = 10_000  # entries per ListEntries call (weed's page); asked as page + 1
# Pings on an open stream find a filer that stopped answering without closing the connection.
KEEPALIVE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect attempts to a filer that is down are cheap: the next filer is tried anyway.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)
LOOKUP_SECONDS = 30.0
LIST_IDLE_SECONDS = 60.0  # one ListEntries call (a directory page of 10,000 entries)


def is_out_of_range(err: BaseException) -> bool:
    return isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.OUT_OF_RANGE


def rpc_reason(err: BaseException) -> str:
    if isinstance(err, grpc.aio.AioRpcError):
        return f"{err.code().name}: {err.details()}"
    return f"{type(err).__name__}: {err}"


class FilerSet:
    """The filers to follow, with the current one first."""

    def __init__(self, addresses: Sequence[ServerAddress]) -> None:
        if not addresses:
            raise ValueError("at least one filer address is needed")
        self.addresses = list(addresses)
        self._index = 0
        self._channels: dict[int, grpc.aio.Channel] = {}
        self._client_id = random.randint(1, 2**31 - 1)
        self._epoch = 0

    @property
    def current(self) -> ServerAddress:
        return self.addresses[self._index]

    def fail_over(self) -> ServerAddress:
        """Move on to the next filer (wrapping around) and return it."""
        self._index = (self._index + 1) % len(self.addresses)
        return self.current

    def _stub(self, index: int | None = None) -> weed_filer_pb2_grpc.SeaweedFilerStub:
        index = self._index if index is None else index
        channel = self._channels.get(index)
        if channel is None:
            options = (*GRPC_CHANNEL_OPTIONS, *KEEPALIVE_OPTIONS)
            channel = grpc.aio.insecure_channel(self.addresses[index].grpc, options=options)
            self._channels[index] = channel
        return weed_filer_pb2_grpc.SeaweedFilerStub(channel)

    async def lookup(self, directory: str, name: str) -> filer_pb.Entry | None:
        """The entry, or None when the filer says it does not exist."""
        try:
            reply = await self._stub().LookupDirectoryEntry(
                filer_pb.LookupDirectoryEntryRequest(directory=directory, name=name), timeout=LOOKUP_SECONDS)
        except grpc.aio.AioRpcError as err:
            details = (err.details() or "").lower()
            # kelp and weed answer UNKNOWN with weed's text ("no entry is found in filer store").
            if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN) and "is found" in details:
                return None
            raise
        return reply.entry

    async def list_page(self, directory: str, start: str, limit: int = LIST_PAGE) -> list[filer_pb.Entry]:
        """Up to `limit` children of `directory` after `start`, in name order."""
        request = filer_pb.ListEntriesRequest(directory=directory, startFromFileName=start,
                                              inclusiveStartFrom=False, limit=limit)
        call = self._stub().ListEntries(request, timeout=LIST_IDLE_SECONDS)
        return [reply.entry async for reply in call]

    async def list_all(self, directory: str) -> AsyncIterator[list[filer_pb.Entry]]:
        """Every child of `directory`, page by page."""
        start = ""
        while True:
            page = await self.list_page(directory, start, LIST_PAGE + 1)
            more = len(page) > LIST_PAGE
            page = page[:LIST_PAGE]
            if page:
                yield page
            if not more:
                return
            start = page[-1].name

    def subscribe(self, path_prefix: str, since_ns: int) -> grpc.aio.UnaryStreamCall[Any, Any]:
        """A SubscribeMetadata stream from the current filer (the caller reads and cancels it)."""
        self._epoch += 1
        prefix = path_prefix if path_prefix.endswith("/") else path_prefix + "/"
        request = filer_pb.SubscribeMetadataRequest(
            client_name=CLIENT_NAME, path_prefix=prefix, since_ns=since_ns, signature=0,
            client_id=self._client_id, client_epoch=self._epoch, client_supports_batching=True,
        )
        call: grpc.aio.UnaryStreamCall[Any, Any] = self._stub().SubscribeMetadata(request)
        return call

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()
