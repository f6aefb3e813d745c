"""Request ids: one per HTTP request a kelp server handles, carried to every log line the request
causes and to the requests it makes in turn (a follower's proxy to the leader, a replica write,
a filer's chunk upload), so one operation can be followed across processes with grep.

An incoming `X-Request-Id` is kept when it is short and plain (letters, digits, `-`, `_`, `.`);
otherwise the server makes one: a per-process random prefix and a counter, so making one costs
a string format, not a random read. The id lives in a contextvar that the server sets in each
request's context; `RequestIdFilter` (installed by the CLI's logging setup) appends `rid=<id>`
to records logged inside a request.

Imports only the standard library.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from contextvars import ContextVar

HEADER = "X-Request-Id"
REQUEST_ID: ContextVar[str] = ContextVar("kelp_request_id", default="")

_PREFIX = os.urandom(4).hex()
_COUNTER = itertools.count(1)
_PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def accept_or_new(incoming: str | None) -> str:
    """The caller's id if it is plain and short, else a new one."""
    if incoming is not None and _PLAIN.fullmatch(incoming):
        return incoming
    return f"{_PREFIX}-{next(_COUNTER):x}"


class RequestIdFilter(logging.Filter):
    """Appends ` rid=<id>` to records logged while handling a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        if rid and not getattr(record, "kelp_rid", None):
            record.kelp_rid = rid
            record.msg = f"{record.msg} rid={rid}"
        return True
