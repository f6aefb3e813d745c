"""The one place where errors become HTTP replies on the volume server.

SeaweedFS answers the same condition differently per operation (a wrong cookie is
404 with no body on GET, 400 JSON on DELETE and 500 on an overwrite), so there is one
table per operation, keyed by exception class and searched along the class's MRO.
Unknown exceptions are not mapped: kelp_http logs them and answers 500.
"""

from __future__ import annotations

from collections.abc import Callable

from dataplane.client.errors import ChunkUnavailable, ClientError, InvalidChunkManifest
from dataplane.volume.engine import errors as engine
from dataplane.volume.errors import (
    BadUpload,
    JwtRejected,
    ReplicaLookupFailed,
    ReplicationFailed,
    TooFewReplicas,
)
from kelp_http import HttpClientError, Response, error_response, json_response

Reply = Callable[[BaseException], Response]
Table = dict[type[BaseException], Reply]


def _empty(status: int) -> Reply:
    return lambda _exc: Response(status)


def _error(status: int, prefix: str = "") -> Reply:
    return lambda exc: error_response(status, f"{prefix}{exc}")


def _fixed(status: int, message: str) -> Reply:
    return lambda _exc: error_response(status, message)


def _mismatching_cookie(exc: BaseException) -> Response:
    given = exc.given if isinstance(exc, engine.CookieMismatch) else 0
    return error_response(500, f"failed to write to local disk: mismatching cookie {given:x}")


_WRONG_JWT = _fixed(401, "wrong jwt")

READ: Table = {
    engine.InvalidFileId: _empty(400),
    JwtRejected: _WRONG_JWT,
    engine.VolumeNotFound: _empty(404),
    engine.NeedleNotFound: _empty(404),
    engine.CookieMismatch: _empty(404),  # never 403: a wrong cookie reads as not found
    engine.CorruptNeedle: _error(500),  # an error, never the bad bytes
    InvalidChunkManifest: _error(500),
    ChunkUnavailable: _error(500),
    ClientError: _empty(404),  # the masters do not know the volume (proxy/redirect reads)
    HttpClientError: _empty(500),  # the owner did not answer a proxied read
    engine.EngineError: _error(500),
}

WRITE: Table = {
    engine.InvalidFileId: _error(400),
    BadUpload: _error(400),
    engine.InvalidNeedle: _error(400),
    JwtRejected: _WRONG_JWT,
    engine.CookieMismatch: _mismatching_cookie,
    engine.VolumeNotFound: _error(404),
    ReplicaLookupFailed: _error(500),
    TooFewReplicas: _error(500),
    ReplicationFailed: _error(500),
    engine.EngineError: _error(500, "failed to write to local disk: "),
}

DELETE: Table = {
    engine.InvalidFileId: _error(400),
    JwtRejected: _WRONG_JWT,
    engine.VolumeNotFound: lambda _exc: json_response({"size": 0}, 404),
    engine.NeedleNotFound: lambda _exc: json_response({"size": 0}, 404),
    engine.CookieMismatch: _fixed(400, "File Random Cookie does not match."),
    InvalidChunkManifest: _error(500, "Load chunks manifest error: "),
    ChunkUnavailable: _error(500, "Delete chunks error: "),
    ReplicaLookupFailed: _error(500, "Deletion Failed: "),
    TooFewReplicas: _error(500, "Deletion Failed: "),
    ReplicationFailed: _error(500, "Deletion Failed: "),
    engine.EngineError: _error(500, "Deletion Failed: "),
}


def reply_for(table: Table, exc: BaseException) -> Response | None:
    """The reply `table` gives `exc`, or None if the error is not one this operation expects."""
    for cls in type(exc).__mro__:
        reply = table.get(cls)
        if reply is not None:
            return reply(exc)
    return None
