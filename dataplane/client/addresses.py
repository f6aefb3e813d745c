"""Server addresses as SeaweedFS writes them, and the gRPC channel options every
kelp client uses.

`host:port` names a server by its HTTP port; its gRPC port is HTTP + 10000 unless
written explicitly as `host:port.grpcPort`. Pure: no I/O, no server code.
"""

from __future__ import annotations

from dataclasses import dataclass

GRPC_PORT_OFFSET = 10000
GRPC_MESSAGE_LIMIT = 1 << 30  # 1 GiB: a needle can be this large in a copy stream
GRPC_CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", GRPC_MESSAGE_LIMIT),
    ("grpc.max_send_message_length", GRPC_MESSAGE_LIMIT),
)


class InvalidServerAddress(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"invalid server address {text!r}: want host:port or host:port.grpcPort")
        self.text = text


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    http_port: int
    grpc_port: int

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        host, sep, ports = text.strip().rpartition(":")
        http_text, _, grpc_text = ports.partition(".")
        if not sep or not host or not http_text.isdigit() or (grpc_text and not grpc_text.isdigit()):
            raise InvalidServerAddress(text)
        http_port = int(http_text)
        grpc_port = int(grpc_text) if grpc_text else http_port + GRPC_PORT_OFFSET
        return cls(host, http_port, grpc_port)

    @property
    def http(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    def __str__(self) -> str:
        if self.grpc_port == self.http_port + GRPC_PORT_OFFSET:
            return self.http
        return f"{self.http}.{self.grpc_port}"
