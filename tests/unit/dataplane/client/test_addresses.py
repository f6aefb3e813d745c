"""Server addresses: `host:port` means gRPC on port + 10000, `host:port.grpc` says it."""

from __future__ import annotations

import pytest

from dataplane.client.addresses import InvalidServerAddress, ServerAddress


def test_grpc_port_is_derived_or_explicit() -> None:
    plain = ServerAddress.parse("127.0.0.1:9333")
    assert (plain.http, plain.grpc, str(plain)) == ("127.0.0.1:9333", "127.0.0.1:19333", "127.0.0.1:9333")
    explicit = ServerAddress.parse("127.0.0.1:23333.33334")
    assert (explicit.http_port, explicit.grpc_port, str(explicit)) == (23333, 33334, "127.0.0.1:23333.33334")


@pytest.mark.parametrize("text", ["", "host", ":9333", "host:", "host:port", "host:1.x"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidServerAddress):
        ServerAddress.parse(text)
