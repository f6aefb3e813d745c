"""kelp_http: a small, fast HTTP/1.1 server and client on asyncio (uvloop when installed) + httptools.

Used by every kelp HTTP adapter (master, volume server, filer) and by `kelp benchmark`.
Must not import controlplane, dataplane or ops: it is a leaf library.
"""

from __future__ import annotations

from kelp_http.body_stream import BodyIncomplete, BodyStream
from kelp_http.client import ClientResponse, HttpClient
from kelp_http.errors import (
    ConnectFailed,
    ConnectionClosed,
    HttpClientError,
    MalformedResponse,
    MultipartError,
    RangeNotSatisfiable,
    RequestTimeout,
)
from kelp_http.eventloop import new_event_loop, run
from kelp_http.headers import Headers
from kelp_http.request import Request
from kelp_http.response import Response, error_response, json_response
from kelp_http.server import Handler, HttpServer, start_server

__all__ = [
    "BodyIncomplete",
    "BodyStream",
    "ClientResponse",
    "ConnectFailed",
    "ConnectionClosed",
    "Handler",
    "Headers",
    "HttpClient",
    "HttpClientError",
    "HttpServer",
    "MalformedResponse",
    "MultipartError",
    "RangeNotSatisfiable",
    "Request",
    "RequestTimeout",
    "Response",
    "error_response",
    "json_response",
    "new_event_loop",
    "run",
    "start_server",
]
