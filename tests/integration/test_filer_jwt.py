"""Filer JWT through the command line: `kelp filer` and `kelp server` read security.toml's
[jwt.filer_signing] (and .read) keys from -config.dir and refuse unsigned writes and reads with
401 {"error":"wrong jwt"}, while signed ones go through (chunks still reach the volume servers)."""

from __future__ import annotations

import json

import pytest

from controlplane.filer.jwt_auth import sign_token
from ops.localcluster import http_call
from tests.integration.conftest import ClusterFactory

WRITE_KEY = "filer-write-key-of-at-least-32-bytes"
READ_KEY = "filer-read-key-of-at-least-32-bytes!"
SECURITY_TOML = f"""
[jwt.filer_signing]
key = "{WRITE_KEY}"
expires_after_seconds = 10

[jwt.filer_signing.read]
key = "{READ_KEY}"
"""


@pytest.mark.parametrize("all_in_one", [False, True], ids=["filer", "server"])
def test_filer_needs_tokens(cluster_factory: ClusterFactory, all_in_one: bool) -> None:
    cluster = cluster_factory(volumes=1, filers=1, all_in_one=all_in_one,
                              config_files={"security.toml": SECURITY_TOML})
    filer = cluster.filer
    refused = http_call(filer, "PUT", "/j/a.txt", b"hello")
    assert refused.status == 401 and json.loads(refused.body) == {"error": "wrong jwt"}
    write = {"Authorization": f"Bearer {sign_token(WRITE_KEY, expires_after_seconds=10)}"}
    assert http_call(filer, "PUT", "/j/a.txt", b"hello", headers=write).status == 201
    assert http_call(filer, "GET", "/j/a.txt").status == 401
    read = {"Authorization": f"Bearer {sign_token(READ_KEY)}"}
    got = http_call(filer, "GET", "/j/a.txt", headers=read)
    assert got.status == 200 and got.body == b"hello"
    assert http_call(filer, "GET", "/", headers={"Accept": "application/json"}).status == 200
