"""JWT checks for volume-server requests, as SeaweedFS does them.

The master signs HS256 tokens with claims {"fid": "<vid>,<keycookie>", "exp": ...}. The
token is taken from `?jwt=`, then `Authorization: Bearer <t>` (scheme matched without
case), then the cookie `AT`. Writes and deletes are checked when a signing key is set;
reads only when a read key is set.

Imports pyjwt and kelp_http's Request type only; no server code.
"""

from __future__ import annotations

import warnings

import jwt

from dataplane.volume.errors import JwtRejected
from kelp_http import Request

# security.toml keys are the operator's choice and SeaweedFS accepts short ones; pyjwt's per-call
# warning about them would repeat on every request.
_SHORT_KEY_WARNING = getattr(jwt, "InsecureKeyLengthWarning", None)
if _SHORT_KEY_WARNING is not None:
    warnings.filterwarnings("ignore", category=_SHORT_KEY_WARNING)


def token_of(request: Request) -> str:
    """The request's token, or "" if it carries none."""
    if "jwt=" in request.query_string:
        token = request.query.get("jwt", "")
        if token:
            return token
    auth = request.headers.get("authorization")
    if auth and len(auth) > 7 and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    cookies = request.headers.get("cookie")
    if cookies:
        for item in cookies.split(";"):
            name, _, value = item.strip().partition("=")
            if name == "AT":
                return value.strip().strip('"')
    return ""


class JwtChecker:
    """Verifies tokens signed with one key; `check` raises JwtRejected."""

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        self._key = key

    def check(self, request: Request, jwt_fid: str) -> None:
        token = token_of(request)
        if not token:
            raise JwtRejected(jwt_fid, "no token")
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"])
        except jwt.PyJWTError as err:
            raise JwtRejected(jwt_fid, str(err)) from err
        if claims.get("fid") != jwt_fid:
            raise JwtRejected(jwt_fid, f"token is for {claims.get('fid')!r}")


def checker_for(key: str) -> JwtChecker | None:
    """None when the key is unset: no check at all."""
    return JwtChecker(key) if key else None
