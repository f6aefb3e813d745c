"""Errors raised by the kelp_http client, multipart and range helpers.

Imports nothing; every class carries its facts as attributes so callers never parse messages.
Client errors subclass the builtin they refine (ConnectionError, TimeoutError) so generic
``except OSError`` / ``except TimeoutError`` code keeps working.
"""

from __future__ import annotations


class HttpClientError(Exception):
    """Base of the client's transport-level failures (never raised for an HTTP error status)."""

    def __init__(self, hostport: str, message: str) -> None:
        super().__init__(f"{hostport}: {message}")
        self.hostport = hostport


class ConnectFailed(HttpClientError, ConnectionError):
    """The TCP connection to hostport could not be opened."""

    def __init__(self, hostport: str, reason: str) -> None:
        super().__init__(hostport, f"connect failed: {reason}")
        self.reason = reason


class ConnectionClosed(HttpClientError, ConnectionError):
    """The server closed the connection before a complete response; ``received`` says if any byte came."""

    def __init__(self, hostport: str, received: bool) -> None:
        super().__init__(hostport, "connection closed before a complete response")
        self.received = received


class RequestTimeout(HttpClientError, TimeoutError):
    """No complete response within ``timeout`` seconds."""

    def __init__(self, hostport: str, timeout: float) -> None:
        super().__init__(hostport, f"no response within {timeout:g}s")
        self.timeout = timeout


class MalformedResponse(HttpClientError, ConnectionError):
    """The server's bytes were not valid HTTP/1.x."""

    def __init__(self, hostport: str, reason: str) -> None:
        super().__init__(hostport, f"malformed response: {reason}")
        self.reason = reason


class MultipartError(ValueError):
    """A multipart body or its Content-Type cannot be parsed; ``reason`` says what was wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"bad multipart body: {reason}")
        self.reason = reason


class RangeNotSatisfiable(ValueError):
    """A Range header that is malformed or selects nothing in ``total`` bytes (answer 416)."""

    def __init__(self, header: str, total: int, reason: str) -> None:
        super().__init__(f"range {header!r} not satisfiable for {total} bytes: {reason}")
        self.header = header
        self.total = total
        self.reason = reason
