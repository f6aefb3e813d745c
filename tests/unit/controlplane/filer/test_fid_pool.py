"""FidPool: one count=N assign serves N single fids; spares age out and die with a failed server."""

from __future__ import annotations

import asyncio

from controlplane.filer.chunks import Assignment, AssignSpec
from controlplane.filer.fid_pool import FidPool


class FakeMaster:
    def __init__(self, auth: str = "") -> None:
        self.calls: list[tuple[AssignSpec, int]] = []
        self.auth = auth
        self.next_key = 0x10

    async def assign(self, spec: AssignSpec, count: int) -> Assignment:
        self.calls.append((spec, count))
        await asyncio.sleep(0)  # a real round trip lets other requests in meanwhile
        key, self.next_key = self.next_key, self.next_key + count
        return Assignment(fid=f"7,{key:x}0000abcd", url="127.0.0.1:1", public_url="", count=count,
                          auth=self.auth)


async def test_spares_are_consecutive_keys_of_one_assign() -> None:
    master = FakeMaster()
    pool = FidPool(master.assign, batch=4)
    fids = [(await pool.take(AssignSpec())).fid for _ in range(6)]
    assert fids == ["7,100000abcd", "7,110000abcd", "7,120000abcd", "7,130000abcd",
                    "7,140000abcd", "7,150000abcd"]
    assert [count for _, count in master.calls] == [4, 4]


async def test_concurrent_takers_share_one_refill() -> None:
    master = FakeMaster()
    pool = FidPool(master.assign, batch=16)
    taken = await asyncio.gather(*(pool.take(AssignSpec()) for _ in range(10)))
    assert len({a.fid for a in taken}) == 10
    assert len(master.calls) == 1
    assert all(a.count == 1 for a in taken)


async def test_specs_do_not_share_spares() -> None:
    master = FakeMaster()
    pool = FidPool(master.assign, batch=4)
    await pool.take(AssignSpec(collection="a"))
    await pool.take(AssignSpec(collection="b"))
    assert [spec.collection for spec, _ in master.calls] == ["a", "b"]


async def test_spares_expire_and_a_failed_server_drops_them() -> None:
    master = FakeMaster()
    now = [0.0]
    pool = FidPool(master.assign, batch=4, max_age_seconds=5.0, clock=lambda: now[0])
    await pool.take(AssignSpec())
    now[0] = 6.0
    await pool.take(AssignSpec())  # the first batch aged out
    pool.forget("127.0.0.1:1")
    await pool.take(AssignSpec())  # and the second died with its server
    assert len(master.calls) == 3


async def test_signed_assignments_are_never_pooled() -> None:
    master = FakeMaster(auth="jwt")
    pool = FidPool(master.assign, batch=8)
    first = await pool.take(AssignSpec())
    second = await pool.take(AssignSpec())
    assert first.count == second.count == 1 and first.fid != second.fid
    assert [count for _, count in master.calls] == [8, 1]
    assert second.auth == "jwt"
