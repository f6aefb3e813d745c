"""The response a handler returns, and builders for JSON bodies and JSON errors.

Imports only the standard library; no asyncio, no server code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_JSON_TYPE = ("Content-Type", "application/json")
_NOSNIFF = ("X-Content-Type-Options", "nosniff")


@dataclass(slots=True)
class Response:
    """Status, header pairs and body; the server adds Content-Length, Date and Server.

    A handler answering HEAD may set ``("Content-Length", n)`` itself and leave the body empty.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | memoryview = b""


def json_response(
    obj: Any, status: int = 200, headers: Iterable[tuple[str, str]] = (), pretty: bool = False
) -> Response:
    """``obj`` as compact JSON (indented with ``pretty``, as SeaweedFS's ``?pretty=`` does)."""
    if pretty:
        text = json.dumps(obj, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return Response(status, [_JSON_TYPE, *headers], text.encode())


def error_response(status: int, message: str) -> Response:
    """SeaweedFS's error shape: ``{"error": message}`` as JSON with ``nosniff``."""
    body = json.dumps({"error": message}, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, [_JSON_TYPE, _NOSNIFF], body)
