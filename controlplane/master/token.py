"""JWTs the master issues with a fid, which volume servers check on writes (and reads when a
read key is set): HS256, claims {"fid": "<vid>,<keycookie>", "exp": <unix seconds>}, as
SeaweedFS's master signs them. The fid claim never carries a `_N` delta suffix.

Must not import grpc, kelp_http or pysyncobj.
"""

from __future__ import annotations

import warnings

import jwt
from jwt.warnings import InsecureKeyLengthWarning

MIN_RECOMMENDED_KEY_BYTES = 32  # RFC 7518 §3.2 for HS256


def sign_fid(key: str, fid: str, expires_after_seconds: int, now: float) -> str:
    """The token for `fid`, or "" when `key` is empty (JWT disabled)."""
    if not key:
        return ""
    claims: dict[str, str | int] = {"fid": fid.split("_", 1)[0]}
    if expires_after_seconds > 0:
        claims["exp"] = int(now) + expires_after_seconds
    # Keys come from the operator's security.toml (SeaweedFS accepts any length); pyjwt would
    # warn on every token signed with a short one. The core logs one warning at start-up instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm="HS256")
