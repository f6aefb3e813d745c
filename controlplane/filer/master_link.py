"""The filer's registration with the masters: one master_pb KeepConnected stream, kept open.

SeaweedFS's shell (`weed shell -master=M` without -filer) finds a filer by asking the master
`ListClusterNodes{client_type:"filer"}`; a master knows a filer while that filer holds a
KeepConnected stream to it with client_type "filer" and client_address "ip:port.grpcPort"
(reference §2.7, §4.1). MasterLink holds that stream:

- it walks the master list; a master's first message may name another leader (compared on the
  HTTP "host:port"; a ".grpcPort" suffix gives the gRPC port, else +10000): it then dials that
  leader at once. A follower ends its stream right after that message;
- while connected it only reads: the volume locations the master streams are not needed here;
  its ClusterNodeUpdate pushes keep `peers`, the other filers of this filer's group connected to
  that master (the master first replays the ones already listed, so the set is exact after each
  connect: it is emptied when a stream is taken, and kept while none is);
- when the stream ends (leadership moved, the master stopped) it dials again at once, the named
  leader first; when every master has failed in a row it pauses `retry_seconds` before the next
  round, so a cluster without a leader is not hammered.

Imports grpc, kelp_pb's master messages and dataplane.client.addresses only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import grpc.aio
from kelp_pb import weed_master_pb2 as wpb
from kelp_pb import weed_master_pb2_grpc

from dataplane.client.addresses import GRPC_CHANNEL_OPTIONS, InvalidServerAddress, ServerAddress

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # after a round in which no master took the stream (SeaweedFS waits 1 s too)
CLIENT_TYPE = "filer"


@dataclass(frozen=True, slots=True)
class FilerIdentity:
    """What the filer tells the master about itself (KeepConnectedRequest)."""

    address: str  # "ip:port.grpcPort", as the shell dials it
    version: str = "kelp"
    filer_group: str = ""
    data_center: str = ""
    rack: str = ""

    def hello(self) -> wpb.KeepConnectedRequest:
        return wpb.KeepConnectedRequest(
            client_type=CLIENT_TYPE, client_address=self.address, version=self.version,
            filer_group=self.filer_group, data_center=self.data_center, rack=self.rack,
        )


class NoMasters(ValueError):
    def __init__(self, masters: Sequence[str]) -> None:
        super().__init__(f"a filer needs at least one valid master address, got {list(masters)!r}")
        self.masters = list(masters)


@dataclass(frozen=True, slots=True)
class PeerFiler:
    """Another filer of this filer's group, as the master announced it."""

    address: str  # "ip:port.grpcPort"
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class _Outcome:
    connected: bool  # the master took the stream (it answered as the leader)
    redirect: ServerAddress | None  # the leader it named instead, to dial next


class MasterLink:
    """Keeps one KeepConnected stream open to the leading master; `run()` until cancelled."""

    def __init__(
        self, masters: Sequence[str], identity: FilerIdentity, *, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        parsed = []
        for text in masters:
            try:
                parsed.append(ServerAddress.parse(text))
            except InvalidServerAddress:
                log.warning("master link: ignoring invalid master address %r", text)
        if not parsed:
            raise NoMasters(masters)
        self._masters = parsed
        self.identity = identity
        self._retry = retry_seconds
        self._channels: dict[str, grpc.aio.Channel] = {}
        self.current: str | None = None  # HTTP "host:port" of the master holding the stream
        self.connects = 0  # streams a master has taken, for tests and statistics
        self._connected = asyncio.Event()
        # Other filers of this group that the master holding the stream knows, by address.
        self.peers: dict[str, PeerFiler] = {}

    async def wait_connected(self, timeout: float) -> str:
        """The master holding the stream, once one does (raises TimeoutError)."""
        await asyncio.wait_for(self._connected.wait(), timeout)
        assert self.current is not None
        return self.current

    async def run(self) -> None:
        index = 0
        failures = 0  # sessions in a row in which no master took the stream
        target: ServerAddress | None = None
        try:
            while True:
                if target is None:
                    target = self._masters[index % len(self._masters)]
                    index += 1
                outcome = await self._session(target)
                target = outcome.redirect
                failures = 0 if outcome.connected else failures + 1
                # A redirect is followed at once, but a ring of masters each naming another
                # (an election under way) still pauses once per round.
                if failures and failures % (len(self._masters) + 1) == 0:
                    await asyncio.sleep(self._retry)
        finally:
            self._set_current(None)
            channels, self._channels = self._channels, {}
            for channel in channels.values():
                await channel.close(None)

    def _peer_update(self, update: wpb.ClusterNodeUpdate) -> None:
        if (update.node_type != CLIENT_TYPE or update.filer_group != self.identity.filer_group
                or update.address == self.identity.address):
            return
        if update.is_add:
            self.peers[update.address] = PeerFiler(update.address, update.created_at_ns)
            log.info("master link: peer filer joined address=%s", update.address)
        elif self.peers.pop(update.address, None) is not None:
            log.info("master link: peer filer left address=%s", update.address)

    def _set_current(self, master: str | None) -> None:
        self.current = master
        if master is None:
            self._connected.clear()
        else:
            self.connects += 1
            self._connected.set()

    def _stub(self, master: ServerAddress) -> weed_master_pb2_grpc.SeaweedStub:
        channel = self._channels.get(master.grpc)
        if channel is None:
            channel = grpc.aio.insecure_channel(master.grpc, options=GRPC_CHANNEL_OPTIONS)
            self._channels[master.grpc] = channel
        return weed_master_pb2_grpc.SeaweedStub(channel)

    async def _session(self, master: ServerAddress) -> _Outcome:
        """One KeepConnected stream to `master`, until it ends."""
        call = self._stub(master).KeepConnected()
        connected = False
        try:
            await call.write(self.identity.hello())  # then never half-closed: the stream stays open
            while True:
                reply = await call.read()
                if reply is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing from grpc-stubs
                    break
                if reply.HasField("cluster_node_update"):
                    self._peer_update(reply.cluster_node_update)
                    continue
                leader = reply.volume_location.leader
                if leader:
                    try:
                        named = ServerAddress.parse(leader)
                    except InvalidServerAddress:
                        named = None
                    if named is not None and named.http != master.http:
                        log.info("master link: %s names leader %s", master.http, named)
                        return _Outcome(connected, named)
                if not connected:
                    connected = True
                    self.peers.clear()  # this master replays the peers it lists, after this message
                    self._set_current(master.http)
                    log.info("master link: registered with master %s as %s", master.http,
                             self.identity.address)
        except grpc.aio.AioRpcError as err:
            level = logging.WARNING if connected else logging.DEBUG
            log.log(level, "master link: stream to %s ended: %s %s", master.http, err.code().name,
                    err.details())
        finally:
            call.cancel()
            if connected:
                self._set_current(None)
        if connected:
            log.info("master link: stream to %s ended; reconnecting", master.http)
        return _Outcome(connected, None)
