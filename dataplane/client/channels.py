"""A pool of grpc.aio channels by target ("host:grpcPort"), one per target, opened on first use.

Client code: grpc only (no server code).
"""

from __future__ import annotations

import contextlib

import grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS


class ChannelPool:
    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def get(self, target: str) -> grpc.aio.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = self._channels[target] = grpc.aio.insecure_channel(target, options=GRPC_CHANNEL_OPTIONS)
        return channel

    async def drop(self, target: str) -> None:
        """Forget one target's channel: a fresh one dials at once when the server is back, where
        the old one would wait out grpc's own reconnect backoff (up to minutes)."""
        channel = self._channels.pop(target, None)
        if channel is not None:
            await channel.close(None)

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            with contextlib.suppress(Exception):
                await channel.close(None)
