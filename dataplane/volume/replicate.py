"""W = N replication: a write or delete taken by this server is sent to every other
replica of the volume, concurrently, and succeeds only if all of them take it.

Replica copies travel as SeaweedFS sends them, so kelp and weed servers interoperate:
a multipart POST to `<replica><same path>?type=replicate&ts=..&ttl=..[&cm=true][&fsync=true]`
carrying the stored name, MIME, gzip state (Content-Encoding on the part) and pairs
(`Seaweed-` prefix added back) plus the client's JWT; deletes are
`DELETE <replica><path>?type=replicate`.

Failure policy (the caller applies it): the local copy is written first, so when a
replica fails the local volume may hold a needle the client was told failed. The
caller then marks the volume read-only, the next heartbeat reports it, and the master
stops assigning to it; the client retries with a new fid elsewhere. A leftover needle
is never handed out again (its fid is not reissued) and is reclaimed by a later vacuum
or repair. The alternative, writing only after every replica acknowledged, would leave
the same window on the replicas instead.

Server-side code: kelp_http client, dataplane.client lookups; no store access.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dataplane.client.errors import ClientError
from dataplane.client.lookup import Location, VolumeLocator
from dataplane.volume.errors import ReplicaLookupFailed, ReplicationFailed, TooFewReplicas
from dataplane.volume.upload import ParsedUpload
from kelp_http import Headers, HttpClient, HttpClientError
from kelp_http.multipart import Part, encode_multipart

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0
_WRITE_OK = (200, 201, 204)
_DELETE_OK = (200, 202, 404)  # a replica that never had the needle is as good as one that deleted it


class Replicator:
    def __init__(self, http: HttpClient, locator: VolumeLocator, *, timeout: float = DEFAULT_TIMEOUT_SECONDS):
        self._http = http
        self._locator = locator
        self._timeout = timeout
        self.self_urls: frozenset[str] = frozenset()  # this server's url and public url, set once bound

    async def peers(self, volume_id: int, copy_count: int) -> tuple[Location, ...]:
        """The other servers holding `volume_id`: from the control-event view while it is live,
        else from a master's lookup (cached).

        With `copy_count` > 0 (the volume is local) at least that many servers must be listed,
        or the write is refused rather than silently under-replicated. A short list is asked
        again once of a master, uncached, in case the view or the cache predates a new replica.
        """
        found = await self._lookup(volume_id)
        if copy_count and len(found) < copy_count:
            self._locator.invalidate(volume_id)
            found = await self._lookup(volume_id, use_source=False)
            if len(found) < copy_count:
                raise TooFewReplicas(volume_id, len(found), copy_count)
        return tuple(loc for loc in found if loc.url not in self.self_urls)

    async def _lookup(self, volume_id: int, *, use_source: bool = True) -> tuple[Location, ...]:
        try:
            return (await self._locator.lookup(volume_id, use_source=use_source)).locations
        except ClientError as err:
            raise ReplicaLookupFailed(volume_id, str(err)) from err

    async def write(
        self,
        volume_id: int,
        peers: Sequence[Location],
        path: str,
        upload: ParsedUpload,
        last_modified: int,
        *,
        jwt: str = "",
        fsync: bool = False,
    ) -> None:
        query = f"type=replicate&ts={last_modified}&ttl={upload.ttl}"
        if upload.chunk_manifest:
            query += "&cm=true"
        if fsync:
            query += "&fsync=true"
        part_headers = Headers()
        if upload.mime:
            part_headers.add("Content-Type", upload.mime)
        if upload.compressed:
            part_headers.add("Content-Encoding", "gzip")
        body, content_type = encode_multipart([Part("file", upload.name, part_headers, upload.data)])
        headers = [("Content-Type", content_type)]
        headers += [(f"Seaweed-{key}", value) for key, value in upload.pairs.items()]
        if jwt:
            headers.append(("Authorization", f"Bearer {jwt}"))
        await self._fan_out(volume_id, peers, "POST", f"{path}?{query}", headers, body, _WRITE_OK)

    async def delete(self, volume_id: int, peers: Sequence[Location], path: str, *, jwt: str = "") -> None:
        headers = [("Authorization", f"Bearer {jwt}")] if jwt else []
        await self._fan_out(volume_id, peers, "DELETE", f"{path}?type=replicate", headers, b"", _DELETE_OK)

    async def _fan_out(
        self,
        volume_id: int,
        peers: Sequence[Location],
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        ok: tuple[int, ...],
    ) -> None:
        request = _Outgoing(method, target, list(headers), body, ok)
        outcomes = await asyncio.gather(*(self._send(peer.url, request) for peer in peers))
        failures = [(peer.url, reason) for peer, reason in zip(peers, outcomes, strict=True) if reason]
        if failures:
            raise ReplicationFailed(volume_id, failures)

    async def _send(self, peer: str, out: _Outgoing) -> str:
        """ "" on success, else why not."""
        try:
            reply = await self._http.request(
                out.method, peer, out.target, headers=out.headers, body=out.body, timeout=self._timeout
            )
        except HttpClientError as err:
            return str(err)
        if reply.status in out.ok:
            return ""
        detail = reply.body[:200].decode("utf-8", "replace").strip()
        log.debug("replica refused peer=%s method=%s status=%d", peer, out.method, reply.status)
        return f"status {reply.status} {detail}".rstrip()


@dataclass(frozen=True, slots=True)
class _Outgoing:
    method: str
    target: str  # path and query
    headers: list[tuple[str, str]]
    body: bytes
    ok: tuple[int, ...]  # statuses that mean the replica took it
