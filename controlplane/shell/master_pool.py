"""Which master the shell asks: any master for status, the leader for membership changes.

The pool starts from the `-master` list and learns the rest of the cluster from every status
answer (its members). Status goes to the master that answered last (then every other one in
turn), and is re-asked of the leader when the answering master names one, because only the
leader knows its followers' health. A leader call asks a master for the leader, calls it, and
when that master is gone or says it is no longer the leader, finds the leader again and retries
ONCE: a membership change must not be sent round the cluster in a loop. While an election runs
no master names a leader; leader calls wait up to `LEADER_WAIT_SECONDS` for one.

Standard library only; the connection to each master comes from the `connect` factory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from controlplane.shell.errors import MasterGone, MasterNotLeader, NoMasterAvailable
from controlplane.shell.master_admin import ClusterStatus, MasterAdmin
from dataplane.client.addresses import InvalidServerAddress, ServerAddress

T = TypeVar("T")
Connect = Callable[[ServerAddress], MasterAdmin]

# A kill -9 of the leader is followed by a new one in ~1-2 s (election timeout plus a vote);
# 10 s covers a slow election on a loaded machine without leaving a user staring at a prompt.
LEADER_WAIT_SECONDS = 10.0
LEADER_POLL_SECONDS = 0.2  # between rounds of asking every master who leads


class MasterPool:
    """The masters one shell session talks to, with what it learned about who leads."""

    def __init__(
        self,
        seeds: Sequence[str],
        connect: Connect,
        *,
        leader_wait_seconds: float = LEADER_WAIT_SECONDS,
        poll_seconds: float = LEADER_POLL_SECONDS,
    ) -> None:
        if not seeds:
            raise ValueError("a master pool needs at least one master address")
        self._connect = connect
        self._addresses: dict[str, ServerAddress] = {}  # HTTP "host:port" -> address, seeds first
        for seed in seeds:
            self._learn(seed)
        self._current = next(iter(self._addresses))  # the master that answered last
        self._leader = ""  # HTTP "host:port" of the leader as last heard, "" if unknown
        self._clients: dict[str, MasterAdmin] = {}
        self._leader_wait = leader_wait_seconds
        self._poll = poll_seconds

    @property
    def known(self) -> list[str]:
        """Every master heard of (the -master list, then members learned from status)."""
        return list(self._addresses)

    @property
    def leader(self) -> str:
        return self._leader

    # -- calls ------------------------------------------------------------------------------

    async def status(self) -> ClusterStatus:
        """The leader's status if it can be reached, else the first answering master's."""
        status = await self.call_any(lambda master: master.cluster_status())
        leader = self._leader  # as `status` named it
        if status.is_leader or not leader or leader == self._normalise(status.answered_by):
            return status
        try:
            from_leader = await self._client(leader).cluster_status()
        except MasterGone:
            self._leader = ""
            return status
        self._note(from_leader)
        return from_leader if from_leader.is_leader else status

    async def call_any(self, call: Callable[[MasterAdmin], Awaitable[T]]) -> T:
        """`call` on the master that answered last, else on each other known master once."""
        failures: list[str] = []
        for address in [self._current, *(a for a in self._addresses if a != self._current)]:
            try:
                result = await call(self._client(address))
            except MasterGone as err:
                failures.append(err.reason)
                if address == self._leader:
                    self._leader = ""
                continue
            self._current = address
            if isinstance(result, ClusterStatus):
                self._note(result)
            return result
        raise NoMasterAvailable(self.known, failures[-1] if failures else "no master to ask")

    async def call_read(self, call: Callable[[MasterAdmin], Awaitable[T]]) -> T:
        """`call` on the leader when one is known (its soft state is freshest), else as
        `call_any`."""
        if self._leader:
            try:
                return await call(self._client(self._leader))
            except MasterGone:
                self._leader = ""
        return await self.call_any(call)

    async def call_leader(self, call: Callable[[MasterAdmin], Awaitable[T]]) -> T:
        """`call` on the leader; once more on the leader found anew if that one is gone or
        no longer leads."""
        leader = self._leader or await self.find_leader()
        try:
            return await call(self._client(leader))
        except (MasterGone, MasterNotLeader) as err:
            hint = err.leader if isinstance(err, MasterNotLeader) else ""
            self._leader = self._normalise(hint)
            if self._leader == leader:
                self._leader = ""
        leader = self._leader or await self.find_leader(exclude=leader)
        return await call(self._client(leader))

    async def find_leader(self, *, exclude: str = "") -> str:
        """Ask the masters who leads until one is named (waiting out an election while any
        master answers). A master in `exclude` counts only when it says itself that it leads."""
        deadline = time.monotonic() + self._leader_wait
        while True:
            answered, failure = False, ""
            for address in [self._current, *(a for a in self._addresses if a != self._current)]:
                try:
                    status = await self._client(address).cluster_status()
                except MasterGone as err:
                    failure = err.reason
                    continue
                answered = True
                self._note(status)
                # `exclude` failed us: take it again only from its own mouth (it is up and leads),
                # not from followers that have not noticed it died.
                if self._leader and (self._leader != exclude or status.is_leader):
                    return self._leader
            if not answered:  # nobody to wait for: a wrong -master, or the whole cluster down
                raise NoMasterAvailable(self.known, failure)
            if time.monotonic() >= deadline:
                wait = f"{self._leader_wait:.0f} s"
                raise NoMasterAvailable(self.known, f"no master named a leader within {wait}")
            await asyncio.sleep(self._poll)

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    # -- bookkeeping ------------------------------------------------------------------------

    def _client(self, address: str) -> MasterAdmin:
        client = self._clients.get(address)
        if client is None:
            client = self._clients[address] = self._connect(self._addresses[address])
        return client

    def _note(self, status: ClusterStatus) -> None:
        """Learn the members and the leader from a status answer."""
        for member in status.members:
            self._normalise(member.address)
        self._leader = self._normalise(status.answered_by if status.is_leader else status.leader)

    def _learn(self, text: str) -> str:
        """Remember a master address; returns its HTTP "host:port" key. An address already
        known keeps its gRPC port (a seed's explicit ".grpcPort" wins over the convention)."""
        parsed = ServerAddress.parse(text)
        self._addresses.setdefault(parsed.http, parsed)
        return parsed.http

    def _normalise(self, text: str) -> str:
        """`_learn`, but "" for an empty or malformed address (a master's answer, not ours)."""
        if not text:
            return ""
        try:
            return self._learn(text)
        except InvalidServerAddress:
            return ""
