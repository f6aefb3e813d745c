"""The ec.* commands' sequences of volume-server calls, against in-memory masters and a fake EC
seam: what ec.encode does on success and on a failed copy (the source stays, no shard is left),
that ec.rebuild refuses a volume with fewer than ten shards and borrows then drops the rest,
that ec.balance deletes duplicates and stops when the lock is lost, and the progress bar."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable

import pytest

from controlplane.shell import ec as ec_commands
from controlplane.shell.ec_servers import EcCallFailed
from controlplane.shell.env import ShellEnv
from controlplane.shell.master_admin import EcShards, ServerReport, VolumeReport
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.progress import Progress
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session
from tests.unit.controlplane.shell.fake_masters import FakeCluster
from tests.unit.controlplane.shell.test_volume_commands import FakeVolumeServers

ALL = (1 << 14) - 1


@pytest.fixture(autouse=True)
def _short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake topology never changes: don't wait 10 s for the masters to show a result."""
    monkeypatch.setattr(ec_commands, "SETTLE_SECONDS", 0.05)


class FakeEcServers:
    """Records (call, server, shards) and fails the copy to `fail_copy_to`, if set; `on_copy`
    runs before every copy (a test takes the lock away there)."""

    def __init__(self, cluster: FakeCluster, fail_copy_to: str = "") -> None:
        self.cluster = cluster
        self.calls: list[tuple[str, str, tuple[int, ...]]] = []
        self.fail_copy_to = fail_copy_to
        self.steal_lock_after_copies = 0

    async def generate(self, server: ServerReport, volume_id: int, collection: str) -> float:
        self.calls.append(("generate", server.address, ()))
        return 0.5

    async def copy(self, target: ServerReport, source: ServerReport, volume_id: int, collection: str,
                   shards: Iterable[int], *, index_files: bool) -> int:
        self.calls.append(("copy", f"{source.address}->{target.address}", tuple(shards)))
        if target.address == self.fail_copy_to:
            raise EcCallFailed("ec", target.address, "UNAVAILABLE", "connection refused")
        copies = sum(c[0] == "copy" for c in self.calls)
        if self.steal_lock_after_copies and copies >= self.steal_lock_after_copies:
            self.cluster.lock_holder = (7, "someone else")  # the lease lapsed and another took it
        return 100

    async def mount(self, server: ServerReport, volume_id: int, collection: str,
                    shards: Iterable[int]) -> None:
        self.calls.append(("mount", server.address, tuple(shards)))

    async def delete_shards(self, server: ServerReport, volume_id: int, collection: str,
                            shards: Iterable[int]) -> None:
        self.calls.append(("delete", server.address, tuple(shards)))

    async def journal(self, server: ServerReport, volume_id: int) -> set[int]:
        return {0x42} if server.address == "s2:8080" else set()

    async def journal_append(self, server: ServerReport, volume_id: int, keys: Iterable[int]) -> int:
        self.calls.append(("journal", server.address, tuple(sorted(keys))))
        return len(list(keys))

    async def rebuild(self, server: ServerReport, volume_id: int, collection: str) -> list[int]:
        self.calls.append(("rebuild", server.address, ()))
        return [12, 13]

    async def to_volume(self, server: ServerReport, volume_id: int, collection: str) -> int:
        self.calls.append(("to_volume", server.address, ()))
        return 10

    async def close(self) -> None:
        pass


def servers_with(ec: dict[str, int], *, volume_on: tuple[str, ...] = ()) -> list[ServerReport]:
    """Four servers in two racks; `ec` maps address -> shard bits of EC volume 9; volume 5 (a
    normal one) on `volume_on`."""
    out = []
    for i, rack in ((1, "r1"), (2, "r1"), (3, "r2"), (4, "r2")):
        address = f"s{i}:8080"
        shards = (EcShards(9, "", ec[address]),) if ec.get(address) else ()
        volumes = (VolumeReport(5, "", 1000, 10, 0, 0, True, "000", ""),) if address in volume_on else ()
        out.append(ServerReport(address, "dc1", rack, 8, volumes, 0, shards))
    return out


def session_for(servers: list[ServerReport], *, fail_copy_to: str = ""
                ) -> tuple[Session, FakeEcServers, FakeVolumeServers, io.StringIO, io.StringIO]:
    cluster = FakeCluster(["m1:9333"], leader="m1:9333", servers=servers)
    ec = FakeEcServers(cluster, fail_copy_to)
    volumes = FakeVolumeServers()
    out, err = io.StringIO(), io.StringIO()
    masters = MasterPool(["m1:9333"], cluster.connect, leader_wait_seconds=0.2, poll_seconds=0.01)
    env = ShellEnv(masters, out, volume_servers=volumes, ec_servers=ec)
    return Session(Registry.load(), env, err=err), ec, volumes, out, err


def test_encode_spreads_then_removes_the_source() -> None:
    session, ec, volumes, out, err = session_for(servers_with({}, volume_on=("s1:8080",)))

    async def scenario() -> None:
        assert await session.run_script("lock; ec.encode -volumeId=5"), err.getvalue()
        await session.env.close()

    asyncio.run(scenario())
    assert ec.calls[0] == ("generate", "s1:8080", ())
    copies = [c for c in ec.calls if c[0] == "copy"]
    assert len(copies) == 3 and all(c[1].startswith("s1:8080->") for c in copies)
    placed = sorted(s for c in copies for s in c[2]) + [s for c in ec.calls if c == ("mount", "s1:8080", c[2])
                                                        for s in c[2]]
    assert sorted(placed) == list(range(14))
    # The source replica is deleted last, after every mount.
    assert volumes.calls[0] == ("mark", "s1:8080", 5, True)
    assert volumes.calls[-1] == ("delete", "s1:8080", 5, False)
    assert "erasure coded; source removed" in out.getvalue()
    assert "the masters do not show every encoded volume's 14 shards yet" in out.getvalue()


def test_a_failed_copy_keeps_the_source_and_removes_every_new_shard() -> None:
    servers = servers_with({}, volume_on=("s1:8080",))
    session, ec, volumes, _, err = session_for(servers, fail_copy_to="s3:8080")

    async def scenario() -> None:
        assert not await session.run_script("lock; ec.encode -volumeId=5")
        await session.env.close()

    asyncio.run(scenario())
    assert "s3:8080: UNAVAILABLE" in err.getvalue()
    assert not any(c[0] == "delete" for c in volumes.calls), volumes.calls  # the source volume stays
    cleaned = {c[1] for c in ec.calls if c[0] == "delete" and c[2] == tuple(range(14))}
    copied_to = {c[1].split("->")[1] for c in ec.calls if c[0] == "copy"}
    assert cleaned == copied_to | {"s1:8080"}


def test_rebuild_refuses_below_ten_and_borrows_what_it_lacks() -> None:
    # Volume 9: s1 holds 0-6 (the most: it rebuilds), s2 holds 7-11; 12 and 13 are lost.
    servers = servers_with({"s1:8080": 0b111_1111, "s2:8080": 0b1111_1000_0000})
    session, ec, _, out, err = session_for(servers)

    async def scenario() -> None:
        assert await session.run_script("ec.rebuild"), err.getvalue()  # a plan needs no lock
        assert "missing shards [12 13]; rebuild on s1:8080" in out.getvalue() and not ec.calls
        assert await session.run_script("lock; ec.rebuild -force"), err.getvalue()
        await session.env.close()

    asyncio.run(scenario())
    borrowed = tuple(range(7, 12))
    assert [c for c in ec.calls if c[0] == "copy"] == [("copy", "s2:8080->s1:8080", (s,)) for s in borrowed]
    assert ("journal", "s1:8080", (0x42,)) in ec.calls  # s2's deletes folded into the rebuilder
    assert ec.calls[-2:] == [("rebuild", "s1:8080", ()), ("delete", "s1:8080", borrowed)]

    nine = servers_with({"s1:8080": 0b1_1111_1111})
    session, ec, _, out, err = session_for(nine)

    async def too_few() -> None:
        assert not await session.run_script("lock; ec.rebuild -force")
        await session.env.close()

    asyncio.run(too_few())
    assert "fewer than 10 shards left, cannot rebuild: 9 (9 shards)" in err.getvalue()
    assert not any(c[0] == "rebuild" for c in ec.calls)


def test_balance_deletes_duplicates_moves_and_stops_when_the_lock_is_lost() -> None:
    # s1 holds all 14 and s2 a duplicate of shard 0: one rack would lose everything.
    servers = servers_with({"s1:8080": ALL, "s2:8080": 0b1})
    session, ec, _, out, err = session_for(servers)

    async def plan_then_act() -> None:
        assert await session.run_script("ec.balance"), err.getvalue()
        assert "delete duplicate shard 0 on s2:8080" in out.getvalue() and "dry run" in out.getvalue()
        assert not ec.calls
        ec.steal_lock_after_copies = 2
        assert not await session.run_script("lock; ec.balance -force")
        await session.env.close()

    asyncio.run(plan_then_act())
    assert ec.calls[0] == ("delete", "s2:8080", (0,))
    assert sum(c[0] == "copy" for c in ec.calls) == 2  # nothing after the lock was lost
    assert "admin lock" in err.getvalue()
    planned = out.getvalue().count("move shard")
    assert planned >= 6  # s1 keeps at most 4 of 14


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_and_lines_elsewhere() -> None:
    screen = Tty()
    env = ShellEnv(MasterPool(["m1:9333"], FakeCluster(["m1:9333"]).connect), screen)
    with env.progress_bar(2, "moves") as bar:
        env.write("planned move")
        bar.step("moved one")
        bar.step()
    text = screen.getvalue()
    assert "planned move\n" in text and "moved one\n" in text
    assert "[###############...............] 1/2 moves" in text and "2/2 moves" in text
    assert text.endswith("\r\033[K") and env.progress is None  # the bar is cleared at the end

    plain = io.StringIO()
    bar = Progress(plain, 3, "moves")
    bar.step("one")
    bar.step()
    bar.done()
    assert plain.getvalue() == "one\n"
