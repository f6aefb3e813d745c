"""The real `weed` 4.48 tools against a kelp filer's gRPC API (filer_pb.SeaweedFiler):

- `weed filer.meta.backup` copies the tree into its own store (SQLite here) and then streams later
  changes (a new file, a directory renamed, a delete); the backup store, read directly, ends up
  holding the same entries (path, kind, size, chunk file ids) as kelp;
- `weed mount` mounts kelp; a tree copied in with `cp -a` (a multi-chunk file, a symlink, nested
  directories) reads back identical with `diff -r`; a rename and a delete made through the mount
  show in kelp's HTTP listing.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from ops.localcluster import LocalCluster, WeedCluster

pytestmark = [pytest.mark.integration, pytest.mark.interop]

# A weed tool reaching a state on a loaded 2-core box: backup traversal and streaming take well
# under 2 s here, a mount is up in about 1 s.
TOOL_SECONDS = 30.0
POLL_SECONDS = 0.1
UNMOUNT_SECONDS = 10.0
BIG_FILE_BYTES = 5 << 20  # over weed mount's 2 MiB chunks: three chunks through AssignVolume

Tree = dict[str, tuple[bool, int, tuple[str, ...]]]  # path -> (is directory, size, chunk fids)


@pytest.fixture
def weed() -> str:
    try:
        return WeedCluster.binary()
    except FileNotFoundError as err:
        pytest.skip(str(err))


def wait_for(what: str, check: Callable[[], bool], seconds: float = TOOL_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def wait_same_tree(what: str, db: Path, expected: Tree) -> None:
    """Poll the backup store until it holds exactly `expected`; on timeout show the difference."""
    seen: list[Tree] = [{}]

    def same() -> bool:
        seen[0] = backup_tree(db)
        return seen[0] == expected

    try:
        wait_for(what, same)
    except AssertionError as err:
        got = seen[0]
        wrong = {
            p: (got.get(p), expected.get(p))
            for p in set(got) | set(expected)
            if got.get(p) != expected.get(p)
        }
        raise AssertionError(f"{err}; path: (backup, kelp) = {wrong}") from None


def http(method: str, url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=TOOL_SECONDS) as reply:
        return int(reply.status)


def listing(filer: str, directory: str) -> list[str]:
    request = urllib.request.Request(
        f"http://{filer}{directory.rstrip('/')}/?limit=1000", headers={"Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=TOOL_SECONDS) as reply:
        doc = json.load(reply)
    return sorted(e["FullPath"].rsplit("/", 1)[1] for e in doc.get("Entries") or [])


def _fid(chunk: filer_pb.FileChunk) -> str:
    """The canonical fid string; SeaweedFS stores only the structured `fid` (reference §5.4)."""
    if chunk.file_id:
        return chunk.file_id
    key = f"{chunk.fid.file_key:x}"
    return f"{chunk.fid.volume_id},{'0' * (len(key) % 2)}{key}{chunk.fid.cookie:08x}"


def _summary(entry: filer_pb.Entry) -> tuple[bool, int, tuple[str, ...]]:
    fids = tuple(sorted(_fid(c) for c in entry.chunks))
    size = max([entry.attributes.file_size, len(entry.content)] + [c.offset + c.size for c in entry.chunks])
    return entry.is_directory, size, fids


def kelp_tree(cluster: LocalCluster) -> Tree:
    """Every entry under / by walking the kelp filer's ListEntries."""
    tree: Tree = {}
    with grpc.insecure_channel(f"127.0.0.1:{cluster.filer_nodes[0].grpc_port}") as channel:
        stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
        pending = ["/"]
        while pending:
            directory = pending.pop()
            for reply in stub.ListEntries(filer_pb.ListEntriesRequest(directory=directory, limit=10001)):
                path = f"{directory.rstrip('/')}/{reply.entry.name}"
                tree[path] = _summary(reply.entry)
                if reply.entry.is_directory:
                    pending.append(path)
    return tree


def kelp_mode(cluster: LocalCluster, directory: str, name: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{cluster.filer_nodes[0].grpc_port}") as channel:
        stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
        found = stub.LookupDirectoryEntry(
            filer_pb.LookupDirectoryEntryRequest(directory=directory, name=name)
        )
    return int(found.entry.attributes.file_mode & 0o777)


def backup_tree(db: Path) -> Tree:
    """Every entry of a SeaweedFS SQLite filer store (table filemeta: directory, name, meta =
    a serialized filer_pb.Entry, gzipped when large); its KV rows are not paths and are skipped."""
    if not db.exists():
        return {}
    tree: Tree = {}
    with contextlib.closing(sqlite3.connect(db)) as connection:
        try:
            rows = connection.execute("SELECT directory, name, meta FROM filemeta").fetchall()
        except sqlite3.OperationalError:  # the tool has not created its table yet
            return {}
    for directory, name, meta in rows:
        if not directory.startswith("/"):
            continue
        blob = gzip.decompress(meta) if meta[:2] == b"\x1f\x8b" else meta
        tree[f"{directory.rstrip('/')}/{name}"] = _summary(filer_pb.Entry.FromString(blob))
    return tree


@contextlib.contextmanager
def weed_process(weed: str, args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen([weed, *args], stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=UNMOUNT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def put(filer: str, path: str, data: bytes) -> None:
    assert http("PUT", f"http://{filer}{path}", data) in (200, 201)


def test_meta_backup_copies_the_tree_then_streams_changes(
    cluster_factory: Callable[..., LocalCluster], weed: str, tmp_path: Path
) -> None:
    cluster = cluster_factory(1, filers=1)
    filer = cluster.filer
    put(filer, "/docs/a.txt", b"alpha\n")
    put(filer, "/docs/sub/b.bin", os.urandom(300_000))
    put(filer, "/top.txt", b"top\n")
    db = tmp_path / "backup" / "filer.db"
    db.parent.mkdir()
    config = tmp_path / "backup_filer.toml"
    config.write_text(f'[sqlite]\nenabled = true\ndbFile = "{db}"\n')
    with weed_process(
        weed, ["filer.meta.backup", f"-filer={filer}", f"-config={config}"], tmp_path / "backup.log"
    ) as proc:
        expected = kelp_tree(cluster)
        assert "/docs/sub/b.bin" in expected
        wait_same_tree("the initial copy", db, expected)
        # Later changes arrive through SubscribeMetadata: a create, a directory rename (one event
        # per moved entry) and a delete.
        put(filer, "/docs/new.txt", b"new\n")
        assert http("POST", f"http://{filer}/moved?mv.from=/docs/sub") in (200, 201, 204)
        assert http("DELETE", f"http://{filer}/top.txt") in (200, 202, 204)
        expected = kelp_tree(cluster)
        assert "/moved/b.bin" in expected and "/top.txt" not in expected and "/docs/sub" not in expected
        wait_same_tree("the streamed changes", db, expected)
        assert proc.poll() is None, (tmp_path / "backup.log").read_text()


def _unmount(mountpoint: Path) -> None:
    if not os.path.ismount(mountpoint):
        return
    if subprocess.run(["fusermount3", "-u", str(mountpoint)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def _make_tree(root: Path) -> None:
    (root / "d" / "e").mkdir(parents=True)
    (root / "small.txt").write_text("hello kelp\n")
    (root / "d" / "e" / "big.bin").write_bytes(os.urandom(BIG_FILE_BYTES))
    (root / "d" / "empty").write_bytes(b"")
    (root / "link").symlink_to("small.txt")


def test_mount_copy_diff_rename_delete(
    cluster_factory: Callable[..., LocalCluster], weed: str, tmp_path: Path
) -> None:
    if shutil.which("fusermount3") is None or not os.path.exists("/dev/fuse"):
        pytest.skip("FUSE is not available (bash ops/dev.sh install adds fuse3)")
    cluster = cluster_factory(1, filers=1)
    filer = cluster.filer
    source, mountpoint = tmp_path / "src" / "tree", tmp_path / "mnt"
    _make_tree(source)
    mountpoint.mkdir()
    args = ["mount", f"-filer={filer}", f"-dir={mountpoint}", f"-cacheDir={tmp_path / 'cache'}"]
    try:
        with weed_process(weed, args, tmp_path / "mount.log") as proc:
            wait_for("the mount", lambda: os.path.ismount(mountpoint) or proc.poll() is not None)
            assert proc.poll() is None, (tmp_path / "mount.log").read_text()
            copy = subprocess.run(
                ["cp", "-a", str(source), str(mountpoint)],
                capture_output=True,
                text=True,
                timeout=TOOL_SECONDS,
            )
            assert copy.returncode == 0, copy.stderr
            diff = subprocess.run(
                ["diff", "-r", "--no-dereference", str(source), str(mountpoint / "tree")],
                capture_output=True,
                text=True,
                timeout=TOOL_SECONDS,
            )
            assert diff.returncode == 0, diff.stdout + diff.stderr
            assert os.readlink(mountpoint / "tree" / "link") == "small.txt"
            # cp -a preserves permissions by writing the POSIX ACL xattr, which weed mount stores
            # as an xattr without touching the mode (so modes are not compared above); a chmod
            # through the mount is an UpdateEntry and must stick.
            os.chmod(mountpoint / "tree" / "small.txt", 0o640)
            assert (os.stat(mountpoint / "tree" / "small.txt").st_mode & 0o777) == 0o640
            wait_for("the chmod in kelp", lambda: kelp_mode(cluster, "/tree", "small.txt") == 0o640)
            # kelp holds what the mount wrote, read back over HTTP.
            with urllib.request.urlopen(f"http://{filer}/tree/d/e/big.bin", timeout=TOOL_SECONDS) as reply:
                assert reply.read() == (source / "d" / "e" / "big.bin").read_bytes()
            os.rename(mountpoint / "tree" / "small.txt", mountpoint / "tree" / "renamed.txt")
            os.rename(mountpoint / "tree" / "d", mountpoint / "tree" / "dd")
            os.unlink(mountpoint / "tree" / "dd" / "empty")
            wait_for(
                "the rename and delete in kelp's listing",
                lambda: (
                    listing(filer, "/tree") == ["dd", "link", "renamed.txt"]
                    and listing(filer, "/tree/dd") == ["e"]
                ),
            )
            assert listing(filer, "/tree/dd/e") == ["big.bin"]
            # Truncation and an extended attribute set through the mount land in kelp's entry.
            big = mountpoint / "tree" / "dd" / "e" / "big.bin"
            os.truncate(big, 1000)
            os.setxattr(big, "user.kelp-test", b"kept")
            assert os.getxattr(big, "user.kelp-test") == b"kept"

            def truncated_with_xattr() -> bool:
                with urllib.request.urlopen(f"http://{filer}/tree/dd/e/big.bin?metadata=true",
                                            timeout=TOOL_SECONDS) as reply:
                    meta = json.loads(reply.read())
                # weed mount keeps an xattr as extended["xattr-<name>"] (base64 in the JSON)
                extended = meta.get("Extended") or {}
                return meta["FileSize"] == 1000 and extended.get("xattr-user.kelp-test") == "a2VwdA=="

            wait_for("the truncation and the xattr in kelp", truncated_with_xattr)
            with urllib.request.urlopen(f"http://{filer}/tree/dd/e/big.bin", timeout=TOOL_SECONDS) as reply:
                assert reply.read() == (source / "d" / "e" / "big.bin").read_bytes()[:1000]
    finally:
        _unmount(mountpoint)
