"""JWT on the filer's HTTP API (reference §5.8): security.toml's `[jwt.filer_signing]` key guards
writes (POST, PUT, DELETE), `[jwt.filer_signing.read]` guards reads (GET, HEAD); an unset key
leaves that side open. Tokens are HS256, taken from `?jwt=`, then `Authorization: Bearer <t>`
(scheme word in any case), then the cookie `AT`, as on the volume server. Claims may narrow a
token: `allowed_prefixes` (the path must be one of them or below one, matched by whole path
segments, so "/a" does not admit "/ab") and `allowed_methods` (HTTP method names). A read of `/`
is always allowed (a listing of the root), except `/?proxyChunkId=`, which reads a needle.

Imports pyjwt and kelp_http's Request type only; no grpc, no store, no ops, no dataplane server code.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import jwt

from controlplane.filer import paths
from controlplane.filer.errors import FilerError
from kelp_http import Request

# security.toml keys are the operator's choice and SeaweedFS accepts short ones; pyjwt's per-call
# warning about them would repeat on every request.
_SHORT_KEY_WARNING = getattr(jwt, "InsecureKeyLengthWarning", None)
if _SHORT_KEY_WARNING is not None:
    warnings.filterwarnings("ignore", category=_SHORT_KEY_WARNING)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})


class JwtRejected(FilerError):
    """A request whose token is missing or not good for it; answered 401 {"error":"wrong jwt"}."""

    def __init__(self, method: str, path: str, reason: str) -> None:
        super().__init__(f"jwt rejected for {method} {path}: {reason}")
        self.method = method
        self.path = path
        self.reason = reason


def token_of(request: Request) -> str:
    """The request's token, or "" if it carries none."""
    token = request.query.get("jwt", "") if "jwt=" in request.query_string else ""
    if token:
        return token
    auth = request.headers.get("authorization")
    if auth and len(auth) > 7 and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    for item in (request.headers.get("cookie") or "").split(";"):
        name, _, value = item.strip().partition("=")
        if name == "AT":
            return value.strip().strip('"')
    return ""


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


@dataclass(frozen=True, slots=True)
class FilerGuard:
    """The two keys; `check(request, path)` raises JwtRejected when the request needs a token it
    lacks. An empty key disables that side's check."""

    write_key: str = ""
    read_key: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.write_key or self.read_key)

    def check(self, request: Request, path: str, *, also: tuple[str, ...] = ()) -> None:
        """`also`: further paths the request touches (mv.from's and cp.from's source), which
        allowed_prefixes must admit as well."""
        method = request.method
        if method in WRITE_METHODS:
            key = self.write_key
        elif method in READ_METHODS:
            if path == paths.ROOT and not request.query.get("proxyChunkId"):
                return
            key = self.read_key
        else:
            return  # OPTIONS (CORS) and unknown methods (405) carry no data
        if not key:
            return
        token = token_of(request)
        if not token:
            raise JwtRejected(method, path, "no token")
        try:
            claims = jwt.decode(token, key, algorithms=["HS256"])
        except jwt.PyJWTError as err:
            raise JwtRejected(method, path, str(err)) from err
        prefixes = claims.get("allowed_prefixes") or []
        for touched in (path, *also):
            if prefixes and not any(isinstance(p, str) and _under(touched, p) for p in prefixes):
                raise JwtRejected(method, touched, f"path is outside allowed_prefixes {prefixes}")
        methods = claims.get("allowed_methods") or []
        if methods and not any(isinstance(m, str) and m.upper() == method for m in methods):
            raise JwtRejected(method, path, f"method is not in allowed_methods {methods}")


def sign_token(key: str, *, expires_after_seconds: int = 0, now: float | None = None,
               allowed_prefixes: list[str] | None = None, allowed_methods: list[str] | None = None) -> str:
    """An HS256 token a filer with `key` accepts (for clients and tests); no expiry when 0."""
    claims: dict[str, object] = {}
    if expires_after_seconds:
        claims["exp"] = int((time.time() if now is None else now) + expires_after_seconds)
    if allowed_prefixes:
        claims["allowed_prefixes"] = allowed_prefixes
    if allowed_methods:
        claims["allowed_methods"] = allowed_methods
    return jwt.encode(claims, key, algorithm="HS256")
