"""`/dir/lookup` and the `/{fid}` redirect: SeaweedFS's location JSON (volume id only in
`volumeOrFileId`, empty fields left out), the lookup JWT for `fileId`, and a 308 to a replica's
public URL that keeps the path and query."""

from __future__ import annotations

from controlplane.master.core import Location
from tests.unit.controlplane.master.test_http_api_support import FakeCore, run, serving

A = Location("127.0.0.1:23081", "127.0.0.1:23081", 33081, "dc1", "r1")
B = Location("127.0.0.1:23080", "pub.example:80", 0, "", "")


def test_lookup_by_volume_id_lists_locations() -> None:
    core = FakeCore(volumes={8: [A, B]})

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/dir/lookup?volumeId=8,01637037d6&collection=c1")
            assert r.status == 200
            assert r.body == (
                b'{"volumeOrFileId":"8","locations":['
                b'{"url":"127.0.0.1:23081","publicUrl":"127.0.0.1:23081","dataCenter":"dc1","grpcPort":33081},'
                b'{"url":"127.0.0.1:23080","publicUrl":"pub.example:80"}]}'
            )
            assert r.headers.get("authorization") is None

    run(scenario())
    assert core.args("lookup") == [(8, "c1")]
    assert core.args("lookup_token") == []


def test_file_id_wins_and_asks_for_a_write_or_read_token() -> None:
    core = FakeCore(volumes={8: [A]}, token="t.o.k")

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/dir/lookup?volumeId=5&fileId=8,01637037d6")
            assert r.json()["volumeOrFileId"] == "8"
            assert r.headers.get("authorization") == "Bearer t.o.k"
            r = await api.call("/dir/lookup?fileId=8,01637037d6&read=yes")
            assert r.headers.get("authorization") == "Bearer t.o.k"

    run(scenario())
    assert core.args("lookup_token") == [("8,01637037d6", False), ("8,01637037d6", True)]


def test_fid_path_redirects_with_308_keeping_path_and_query() -> None:
    core = FakeCore(volumes={5: [B]})

    async def scenario() -> None:
        async with serving(core) as api:
            r = await api.call("/5,0ea6318362.jpg?x=1&y=%20")
            assert r.status == 308
            location = "http://pub.example:80/5,0ea6318362.jpg?x=1&y=%20"
            assert r.headers.get("location") == location
            escaped = b"http://pub.example:80/5,0ea6318362.jpg?x=1&amp;y=%20"
            assert r.body == b'<a href="' + escaped + b'">Permanent Redirect</a>.\n\n'
            r = await api.call("/5,0ea6318362", "POST")
            assert (r.status, r.headers.get("location"), r.body) == (
                308,
                "http://pub.example:80/5,0ea6318362",
                b"",
            )

    run(scenario())


def test_redirect_picks_among_all_replicas() -> None:
    core = FakeCore(volumes={5: [A, B]})
    seen: set[str] = set()

    async def scenario() -> None:
        async with serving(core) as api:
            for _ in range(64):
                seen.add((await api.call("/5,0ea6318362")).headers.get("location") or "")

    run(scenario())
    assert seen == {"http://127.0.0.1:23081/5,0ea6318362", "http://pub.example:80/5,0ea6318362"}
