"""Reading and deleting one file id over HTTP, wherever its volume lives.

The locations come from a VolumeLocator; replicas are tried in order until one answers.
Client code: kelp_http client and the locator only, no server imports.
"""

from __future__ import annotations

from dataplane.client.errors import ChunkUnavailable, ClientError
from dataplane.client.lookup import VolumeLocator
from kelp_http import ClientResponse, HttpClient, HttpClientError

FETCH_TIMEOUT_SECONDS = 60.0


def volume_id_of(fid: str) -> int:
    vid_text = fid.partition(",")[0]
    if not vid_text.isdigit():
        raise ChunkUnavailable(fid, "not a file id")
    return int(vid_text)


async def _first_answer(
    http: HttpClient, locator: VolumeLocator, method: str, fid: str, ok: tuple[int, ...], jwt: str
) -> ClientResponse:
    headers = [("Authorization", f"Bearer {jwt}")] if jwt else []
    try:
        found = await locator.lookup(volume_id_of(fid))
    except ClientError as err:
        raise ChunkUnavailable(fid, str(err)) from err
    reasons: list[str] = []
    for loc in found.locations:
        try:
            reply = await http.request(
                method, loc.url, f"/{fid}", headers=headers, timeout=FETCH_TIMEOUT_SECONDS
            )
        except HttpClientError as err:
            reasons.append(str(err))
            continue
        if reply.status in ok:
            return reply
        reasons.append(f"{loc.url}: status {reply.status}")
    raise ChunkUnavailable(fid, "; ".join(reasons) or "no locations")


async def fetch_fid(http: HttpClient, locator: VolumeLocator, fid: str, *, jwt: str = "") -> bytes:
    """The (uncompressed) data of `fid`; raises ChunkUnavailable."""
    return (await _first_answer(http, locator, "GET", fid, (200,), jwt)).body


async def delete_fid(http: HttpClient, locator: VolumeLocator, fid: str, *, jwt: str = "") -> None:
    """Delete `fid` through its first reachable replica (which fans out); a missing fid is fine."""
    await _first_answer(http, locator, "DELETE", fid, (200, 202, 404), jwt)
