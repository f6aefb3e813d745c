"""A follower master reverse-proxies the leader-only routes to the leader's HTTP listener (the
client sees the leader's answer unchanged, never a redirect) and answers reads itself."""

from __future__ import annotations

import asyncio

from controlplane.master.core import Location, NotLeader
from kelp_http import Request, Response, start_server
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run, serving


def test_follower_proxies_writes_and_answers_reads_locally() -> None:
    seen: list[Request] = []

    async def leader(req: Request) -> Response:
        seen.append(req)
        headers = [("Content-Type", "application/json"), ("Authorization", "Bearer from-leader")]
        return Response(202, headers, b'{"leader":"' + req.path.encode() + b'"}')

    async def scenario() -> None:
        server = await start_server(leader, "127.0.0.1", 0)
        # The leader's address may carry SeaweedFS's ".grpcPort" suffix.
        core = FakeCore(leader_flag=False, leader_address=f"127.0.0.1:{server.port}.9999")
        core.volumes[4] = [Location("127.0.0.1:8080", "127.0.0.1:8080", 0)]
        try:
            async with serving(core) as api:
                form = (("Content-Type", "application/x-www-form-urlencoded"), ("X-Custom", "1"))
                r = await api.call("/dir/assign?count=2", "POST", body=b"collection=c", headers=form)
                assert (r.status, r.body) == (202, b'{"leader":"/dir/assign"}')
                assert r.headers.get("authorization") == "Bearer from-leader"
                for path in ("/dir/status", "/vol/grow?count=1", "/vol/status", "/vol/vacuum", "/col/delete"):
                    assert (await api.call(path)).status == 202
                assert (await api.call("/dir/lookup?volumeId=4")).status == 200
                assert (await api.call("/4,01637037d6")).status == 308
                assert (await api.call("/cluster/status")).status == 200
                assert (await api.call("/collection/info?collection=x")).status == 200
        finally:
            await server.close()
        assert core.args("assign") == [] and core.args("grow") == []

    run(scenario())
    first = seen[0]
    assert (first.method, first.raw_path, first.query_string, first.body) == (
        "POST",
        "/dir/assign",
        "count=2",
        b"collection=c",
    )
    assert first.headers.get("x-custom") == "1"
    assert first.headers.get("x-forwarded-for") == "127.0.0.1"
    assert [r.path for r in seen[1:]] == [
        "/dir/status",
        "/vol/grow",
        "/vol/status",
        "/vol/vacuum",
        "/col/delete",
    ]


def test_leadership_lost_mid_call_is_proxied_and_an_unreachable_leader_is_502() -> None:
    async def leader(req: Request) -> Response:
        return Response(200, [], b"leader answered")

    async def scenario() -> None:
        server = await start_server(leader, "127.0.0.1", 0)
        core = FakeCore(fail={"assign": NotLeader(f"127.0.0.1:{server.port}")})
        try:
            async with serving(core) as api:
                # The core says NotLeader but is_leader() is still true: 503, never a proxy to self.
                r = await api.call("/dir/assign")
                assert r.status == 503
                # Demoted while no leader was known up front; the error names the new leader.
                core.leader_flag = False
                core.leader_address = None
                r = await api.call("/dir/assign")
                assert (r.status, r.body) == (200, b"leader answered")
                core.leader_address = "127.0.0.1:24999"
                r = await api.call("/dir/assign")
                assert r.status == 502 and "127.0.0.1:24999" in r.json()["error"]
        finally:
            await server.close()

    run(scenario())


def test_two_followers_naming_each_other_do_not_bounce_a_request() -> None:
    async def scenario() -> None:
        a, b = FakeCore(leader_flag=False), FakeCore(leader_flag=False)
        a.fail["assign"] = b.fail["assign"] = NotLeader(None)
        async with serving(a) as api_a, serving(b) as api_b:
            a.leader_address, b.leader_address = api_b.hostport, api_a.hostport
            r = await api_a.call("/dir/assign")
            # a forwards to b; b sees the request was forwarded and answers it itself.
            assert (r.status, r.json()) == (503, {"error": str(NotLeader(None))})
        assert len(a.args("assign")) == 0 and len(b.args("assign")) == 1

    run(scenario())


def test_an_assign_waiting_on_a_hung_leader_goes_to_the_new_one() -> None:
    """The old leader is paused: it accepts the connection and never answers. When an election
    names another leader, the follower drops the hung request and asks the new one."""
    release = asyncio.Event()
    arrivals: asyncio.Queue[str] = asyncio.Queue()

    async def hung(req: Request) -> Response:
        arrivals.put_nowait(req.path)
        await release.wait()
        return Response(200, [], b"old leader, too late")

    async def fresh(req: Request) -> Response:
        return Response(200, [], b"new leader")

    async def scenario() -> None:
        old = await start_server(hung, "127.0.0.1", 0)
        new = await start_server(fresh, "127.0.0.1", 0)
        core = FakeCore(leader_flag=False, leader_address=f"127.0.0.1:{old.port}")
        try:
            async with serving(core) as api:
                waiting = asyncio.create_task(api.call("/dir/assign"))
                assert await asyncio.wait_for(arrivals.get(), 5) == "/dir/assign"  # hanging there
                core.leader_address = f"127.0.0.1:{new.port}"  # the election elsewhere
                r = await asyncio.wait_for(waiting, 5)
                assert (r.status, r.body) == (200, b"new leader")
                # Growth is not retried: it waits for the leader it was sent to.
                core.leader_address = f"127.0.0.1:{old.port}"
                growing = asyncio.create_task(api.call("/vol/grow?count=1"))
                assert await asyncio.wait_for(arrivals.get(), 5) == "/vol/grow"
                core.leader_address = f"127.0.0.1:{new.port}"
                # Absence of a retry: many leader-watch periods pass and it still waits.
                await asyncio.sleep(0.3)
                assert not growing.done()
                release.set()
                r = await asyncio.wait_for(growing, 5)
                assert r.body == b"old leader, too late"
        finally:
            release.set()
            await old.close()
            await new.close()

    run(scenario())
