"""kelp shell commands against a real master. lock / unlock: a session holding the lock (renewed)
keeps another `kelp shell` out, `unlock` lets it in, and a `-c` script's lock goes back at exit."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

from controlplane.shell.env import ShellEnv
from controlplane.shell.grpc_master_admin import GrpcMasterAdmin
from controlplane.shell.master_pool import MasterPool
from controlplane.shell.registry import Registry
from controlplane.shell.session import Session

from .conftest import ClusterFactory
from .test_shell import kelp_shell

RENEWALS_SECONDS = 11.5  # past the 10 s lease: held only because the session renews it (every 4 s)


def test_lock_excludes_other_shells_until_unlock(cluster_factory: ClusterFactory) -> None:
    cluster = cluster_factory(1)
    master = cluster.master

    async def scenario() -> None:
        out, err = io.StringIO(), io.StringIO()
        masters = MasterPool([master], GrpcMasterAdmin)
        holder = Session(Registry.load(), ShellEnv(masters, out), err=err)
        try:
            assert await holder.run_script("lock -message=test"), err.getvalue()
            other = await asyncio.to_thread(kelp_shell, [master], "lock")
            assert other.returncode == 1 and "already locked" in other.stderr.lower(), other.stderr
            # The background renewal keeps it: still excluded after the lease would have lapsed.
            await asyncio.sleep(RENEWALS_SECONDS)  # the time under test, not a synchronisation
            later = await asyncio.to_thread(kelp_shell, [master], "lock")
            assert later.returncode == 1, later.stdout
            assert await holder.run_script("unlock"), err.getvalue()
            freed = await asyncio.to_thread(kelp_shell, [master], "lock; cluster.status; unlock")
            assert freed.returncode == 0, freed.stderr
            # A script that ends while holding the lock gives it back at exit.
            assert (await asyncio.to_thread(kelp_shell, [master], "lock")).returncode == 0
            assert await holder.run_script("lock"), err.getvalue()
        finally:
            await holder.env.close()
            await masters.close()

    asyncio.run(scenario())


def test_volume_list_shows_the_volumes_of_a_real_cluster(cluster_factory: ClusterFactory) -> None:
    from ops.localcluster import http_call, multipart_file

    cluster = cluster_factory(1)
    assign = http_call(cluster.master, "GET", "/dir/assign").json()
    body, ctype = multipart_file("a.txt", b"volume.list")
    stored = http_call(assign["url"], "POST", f"/{assign['fid']}", body, {"Content-Type": ctype})
    assert stored.status == 201
    vid = assign["fid"].split(",")[0]
    listed = kelp_shell([cluster.master], "volume.list")
    assert listed.returncode == 0, listed.stderr
    assert f"volume id:{vid} " in listed.stdout and "DataNode " in listed.stdout


def test_volume_mark_and_delete_on_a_real_cluster(cluster_factory: ClusterFactory) -> None:
    import time

    from ops.localcluster import http_call, multipart_file

    cluster = cluster_factory(2)
    assign = http_call(cluster.master, "GET", "/dir/assign").json()
    body, ctype = multipart_file("a.txt", b"volume.mark")
    assert http_call(assign["url"], "POST", f"/{assign['fid']}", body, {"Content-Type": ctype}).status == 201
    vid = int(assign["fid"].split(",")[0])

    def line_of(listing: str) -> str:
        return next((line for line in listing.splitlines() if f"volume id:{vid} " in line), "")

    def wait_listing(predicate: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + 30.0
        while True:
            listed = kelp_shell([cluster.master], "volume.list")
            if predicate(line_of(listed.stdout)) or time.monotonic() > deadline:
                return line_of(listed.stdout)
            time.sleep(0.2)  # a poll with a deadline: heartbeats carry the change to the master

    refused = kelp_shell([cluster.master], f"volume.mark -volumeId={vid} -readonly")
    assert refused.returncode == 1 and "run `lock` first" in refused.stderr
    marked = kelp_shell([cluster.master], f"lock; volume.mark -volumeId={vid} -readonly")
    assert marked.returncode == 0, marked.stderr
    assert "read_only:true" in wait_listing(lambda line: "read_only:true" in line)
    holder = assign["url"]
    deleted = kelp_shell([cluster.master], f"lock; volume.delete -volumeId={vid} -node={holder}")
    assert deleted.returncode == 0, deleted.stderr
    assert wait_listing(lambda line: line == "") == ""


def test_volume_vacuum_reclaims_deleted_bytes(cluster_factory: ClusterFactory) -> None:
    from ops.localcluster import http_call, multipart_file

    cluster = cluster_factory(1)
    fids = []
    for n in range(20):
        assign = http_call(cluster.master, "GET", "/dir/assign").json()
        body, ctype = multipart_file(f"{n}.bin", bytes([n]) * 50_000)
        stored = http_call(assign["url"], "POST", f"/{assign['fid']}", body, {"Content-Type": ctype})
        assert stored.status == 201
        fids.append((assign["url"], assign["fid"]))
    for url, fid in fids[:15]:  # three quarters garbage
        assert http_call(url, "DELETE", f"/{fid}").status in (200, 202, 204)
    done = kelp_shell([cluster.master], "lock; volume.vacuum -garbageThreshold=0.5")
    assert done.returncode == 0, done.stderr
    assert "reclaimed" in done.stdout and "vacuumed 0 volume replicas" not in done.stdout
    for url, fid in fids[15:]:  # the live ones read back after the compaction
        assert http_call(url, "GET", f"/{fid}").status == 200


def test_fs_commands_read_a_real_filer(cluster_factory: ClusterFactory) -> None:
    import json as jsonlib

    from ops.localcluster import http_call

    cluster = cluster_factory(1, filers=1)
    filer = cluster.filer
    assert http_call(filer, "PUT", "/docs/readme.txt", b"hello kelp\n").status == 201
    assert http_call(filer, "PUT", "/docs/sub/data.bin", b"x" * 3000).status == 201
    listed = kelp_shell([cluster.master], f"fs.ls -filer={filer} /docs")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["readme.txt", "sub/"]
    long = kelp_shell([cluster.master], f"fs.ls -filer={filer} -l /docs").stdout
    assert "-rw-" in long and "11" in long and "readme.txt" in long
    du = kelp_shell([cluster.master], f"fs.du -filer={filer} /docs")
    assert du.stdout.strip() == "file:2 byte:3011 /docs", du.stdout + du.stderr
    cat = kelp_shell([cluster.master], f"fs.cat -filer={filer} /docs/readme.txt")
    assert cat.stdout == "hello kelp\n", cat.stderr
    meta = kelp_shell([cluster.master], f"fs.meta.cat -filer={filer} /docs/readme.txt")
    assert jsonlib.loads(meta.stdout)["name"] == "readme.txt"
    missing = kelp_shell([cluster.master], f"fs.cat -filer={filer} /docs/nope")
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr
    relative = kelp_shell([cluster.master], f"fs.ls -filer={filer} docs")
    assert relative.returncode == 1 and "absolute path" in relative.stderr


def test_volume_balance_moves_volumes_onto_a_new_server(cluster_factory: ClusterFactory) -> None:
    """A server joins a one-server cluster: `volume.balance` prints its plan, `-force` moves
    volumes until the two hold about as many, and every file reads back from its new holder."""
    import time

    from ops.localcluster import http_call, http_get_json, multipart_file

    cluster = cluster_factory(1, replication="000")
    stored: dict[str, bytes] = {}
    for n in range(24):
        assign = http_call(cluster.master, "GET", "/dir/assign").json()
        data = f"balance {n} ".encode() * (n + 1)
        body, ctype = multipart_file(f"{n}.txt", data)
        reply = http_call(assign["url"], "POST", f"/{assign['fid']}", body, {"Content-Type": ctype})
        assert reply.status == 201
        stored[assign["fid"]] = data
    newcomer = cluster.add_volume().address

    def holders() -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for vid in range(1, 64):
            try:
                reply = http_get_json(cluster.master, f"/dir/lookup?volumeId={vid}")
            except OSError:
                continue
            found[vid] = [loc["url"] for loc in reply.get("locations") or []]
        return found

    before = holders()
    assert before and all(newcomer not in where for where in before.values()), before
    plan = kelp_shell([cluster.master], "volume.balance")
    assert plan.returncode == 0 and "plan only" in plan.stdout, plan.stdout + plan.stderr
    planned = [line for line in plan.stdout.splitlines() if line.endswith(f"to {newcomer}")]
    assert planned and len(planned) == len(before) // 2, plan.stdout
    assert holders() == before  # the plan alone moved nothing

    moved = kelp_shell([cluster.master], "lock; volume.balance -force")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    deadline = time.monotonic() + 60.0

    def balanced() -> bool:
        now = holders()
        counts = [sum(1 for where in now.values() if node.address in where) for node in cluster.volume_nodes]
        return set(now) == set(before) and all(len(w) == 1 for w in now.values()) \
            and max(counts) - min(counts) <= 1
    while not balanced():
        assert time.monotonic() < deadline, f"not balanced: {holders()}"
        time.sleep(0.2)
    again = kelp_shell([cluster.master], "volume.balance")
    assert "the servers are balanced" in again.stdout, again.stdout
    after = holders()
    for fid, data in stored.items():
        [url] = after[int(fid.split(",")[0])]
        got = http_call(url, "GET", f"/{fid}")
        assert got.status == 200 and got.body == data, (fid, url, got.status)
