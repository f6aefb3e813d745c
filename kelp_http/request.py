"""The parsed HTTP request handed to a server handler.

Imports only the standard library and kelp_http.headers; no asyncio, no server code.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from kelp_http.body_stream import BodyStream
from kelp_http.headers import Headers

_FORM_TYPE = "application/x-www-form-urlencoded"


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in pairs:
        if k not in out:
            out[k] = v
    return out


class Request:
    """One request: method, decoded path, raw path, query, headers, whole body (or a `stream` of
    it, for large bodies on servers that ask for that) and peer address.

    ``query`` is parsed on first access: most volume-server GETs never look at it.
    """

    __slots__ = (
        "_query",
        "body",
        "headers",
        "method",
        "path",
        "query_string",
        "raw_path",
        "remote",
        "stream",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: bytes = b"",
        remote: str = "",
        version: str = "1.1",
    ) -> None:
        if not target.startswith("/") and "://" in target:
            # Absolute form ("GET http://host/path"), which proxies send: keep only the path.
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        raw_path, _, query_string = target.partition("?")
        raw_path = raw_path.partition("#")[0]
        self.method = method
        self.raw_path = raw_path
        self.path = unquote(raw_path) if "%" in raw_path else raw_path
        self.query_string = query_string.partition("#")[0]
        self.headers = headers
        self.body = body
        self.remote = remote
        self.version = version
        self._query: dict[str, str] | None = None
        # Set instead of `body` for a body the server streams (see HttpServer's stream_body_over):
        # `body` is then b"" and the handler reads `async for chunk in req.stream`.
        self.stream: BodyStream | None = None

    @property
    def query(self) -> dict[str, str]:
        """First value of each query parameter, percent- and plus-decoded."""
        q = self._query
        if q is None:
            q = (
                _first_values(parse_qsl(self.query_string, keep_blank_values=True))
                if self.query_string
                else {}
            )
            self._query = q
        return q

    def form(self) -> dict[str, str]:
        """Query parameters merged with a urlencoded body; body fields win, as Go's FormValue does."""
        merged = dict(self.query)
        ctype = self.headers.get("content-type") or ""
        if self.body and ctype.lower().startswith(_FORM_TYPE):
            text = self.body.decode("utf-8", "surrogateescape")
            merged.update(_first_values(parse_qsl(text, keep_blank_values=True)))
        return merged

    def __repr__(self) -> str:
        return f"Request({self.method} {self.raw_path!r} from {self.remote})"
