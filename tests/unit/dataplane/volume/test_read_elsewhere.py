"""Reads for a volume this server does not hold: proxied to the owner by default (the owner's
status, body and headers), a 301 to the owner with `readMode=redirect`, 404 with
`readMode=local` or when no server holds the volume."""

from __future__ import annotations

from pathlib import Path

from tests.unit.dataplane.volume.volume_harness import (
    FID,
    Http,
    allocate,
    fake_master,
    known_to,
    run,
    volume_server,
)


def test_proxy_redirect_and_local_modes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_master() as master, volume_server(tmp_path, master, "owner") as owner, \
                volume_server(tmp_path, master, "proxy") as proxy, \
                volume_server(tmp_path, master, "redirect", read_mode="redirect") as redirect, \
                volume_server(tmp_path, master, "local", read_mode="local") as local:
            await allocate(owner, 3)
            await known_to(master, owner, 3)
            to_owner = Http(owner)
            headers = [("Content-Type", "application/x-foo"), ("Seaweed-Color", "green")]
            await to_owner("PUT", f"/{FID}?ts=1600000000", b"owned data", headers)

            via_proxy = Http(proxy)
            got = await via_proxy("GET", f"/{FID}", headers=[("Range", "bytes=0-4")])
            assert got.status == 206 and got.body == b"owned"
            assert got.headers.get("content-type") == "application/x-foo"
            assert got.headers.get("color") == "green"
            assert got.headers.getall("server") == [got.headers.get("server")]  # ours only, once
            head = await via_proxy("HEAD", f"/{FID}")
            assert head.status == 200 and head.headers.get("content-length") == "10"
            assert (await via_proxy("GET", "/3,0100000000")).status == 404  # the owner's answer
            assert (await via_proxy("GET", "/9,01637037d6")).status == 404  # nobody's volume

            moved = await Http(redirect)("GET", f"/{FID}?collection=pics&width=10")
            assert moved.status == 301
            assert moved.headers.get("location") == f"http://{owner.url}/{FID}?collection=pics&proxied=true"

            assert (await Http(local)("GET", f"/{FID}")).status == 404

    run(scenario)
