"""Helpers for the filer.meta.backup tests and benchmark: build a tree through a filer's gRPC API,
run a mutation load, and run `kelp filer.meta.backup` / `filer.meta.verify` as real processes.

Not a test module (no test_ prefix); imported by tests/integration/test_filer_meta_backup*.py,
tests/chaos/test_filer_meta_backup_kill.py and ops/bench/filer_backup_compare.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from ops.localcluster import REPO_ROOT

POLL_SECONDS = 0.1
MODE_DIR = 1 << 31


def wait_for(what: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def filer_stub(address: str) -> tuple[grpc.Channel, weed_filer_pb2_grpc.SeaweedFilerStub]:
    host, _, port = address.rpartition(":")
    channel = grpc.insecure_channel(f"{host}:{int(port) + 10000}")
    return channel, weed_filer_pb2_grpc.SeaweedFilerStub(channel)


def file_entry(name: str, content: bytes, mode: int = 0o644) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name, content=content)
    now = int(time.time())
    entry.attributes.file_mode = mode
    entry.attributes.file_size = len(content)
    entry.attributes.mtime = now
    entry.attributes.crtime = now
    return entry


def dir_entry(name: str) -> filer_pb.Entry:
    entry = filer_pb.Entry(name=name, is_directory=True)
    now = int(time.time())
    entry.attributes.file_mode = MODE_DIR | 0o755
    entry.attributes.mtime = now
    entry.attributes.crtime = now
    return entry


def create(stub: weed_filer_pb2_grpc.SeaweedFilerStub, directory: str, entry: filer_pb.Entry) -> None:
    reply = stub.CreateEntry(filer_pb.CreateEntryRequest(directory=directory, entry=entry))
    if reply.error:
        raise AssertionError(f"create {directory}/{entry.name}: {reply.error}")


def tree_plan(total: int, levels: int, fanout: int = 2, root: str = "/tree") -> tuple[list[str], list[str]]:
    """Directories (`levels` deep, `fanout` per directory) and file paths, `total` entries in all."""
    directories: list[str] = []
    frontier = [root]
    directories.append(root)
    for _ in range(levels - 1):
        frontier = [f"{d}/d{i}" for d in frontier for i in range(fanout)]
        directories.extend(frontier)
    files_total = max(0, total - len(directories))
    files = [f"{directories[i % len(directories)]}/f{i:06d}" for i in range(files_total)]
    return directories, files


def build_tree(address: str, total: int, levels: int, *, root: str = "/tree", threads: int = 8) -> int:
    """Create a nested tree of `total` entries (small inline contents) through CreateEntry."""
    directories, files = tree_plan(total, levels, root=root)
    channel, stub = filer_stub(address)
    try:
        for path in directories:  # parents first
            parent, _, name = path.rpartition("/")
            create(stub, parent or "/", dir_entry(name))
        chunks = [files[i::threads] for i in range(threads)]

        def worker(part: list[str]) -> None:
            for path in part:
                parent, _, name = path.rpartition("/")
                create(stub, parent, file_entry(name, name.encode() * 3))

        workers = [threading.Thread(target=worker, args=(part,)) for part in chunks]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        channel.close()
    return len(directories) + len(files)


@dataclass
class MutationLoad:
    """Creates, overwrites, renames of files and directories, deletes and attribute changes under
    `root`, from one thread, until stop() (or `max_ops`/`max_seconds`). A failed call (a filer
    killed on purpose) is counted in `errors` and the next filer of `address, *others` is used."""

    address: str
    others: tuple[str, ...] = ()
    root: str = "/load"
    seed: int = 7
    max_ops: int = 100_000
    max_seconds: float = 120.0
    pause_seconds: float = 0.0
    ops: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MutationLoad:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.ops

    def _run(self) -> None:
        rng = random.Random(self.seed)
        addresses = [self.address, *self.others]
        channel, stub = filer_stub(addresses[0])
        files: list[str] = []
        dirs: list[str] = [self.root]
        deadline = time.monotonic() + self.max_seconds
        counter = 0
        try:
            create(stub, "/", dir_entry(self.root.strip("/")))
            while not self._stop.is_set() and self.ops < self.max_ops and time.monotonic() < deadline:
                counter += 1
                roll = rng.random()
                try:
                    if roll < 0.35 or not files:
                        d = rng.choice(dirs)
                        name = f"f{counter}"
                        create(stub, d, file_entry(name, os.urandom(rng.randint(1, 64))))
                        files.append(f"{d}/{name}")
                    elif roll < 0.45:
                        d = rng.choice(dirs)
                        if d.count("/") < 5:
                            name = f"d{counter}"
                            create(stub, d, dir_entry(name))
                            dirs.append(f"{d}/{name}")
                    elif roll < 0.60:  # overwrite
                        path = rng.choice(files)
                        parent, _, name = path.rpartition("/")
                        create(stub, parent, file_entry(name, os.urandom(rng.randint(1, 64))))
                    elif roll < 0.70:  # attribute change
                        path = rng.choice(files)
                        parent, _, name = path.rpartition("/")
                        found = stub.LookupDirectoryEntry(
                            filer_pb.LookupDirectoryEntryRequest(directory=parent, name=name)).entry
                        found.attributes.file_mode = 0o600 if found.attributes.file_mode != 0o600 else 0o644
                        stub.UpdateEntry(filer_pb.UpdateEntryRequest(directory=parent, entry=found))
                    elif roll < 0.80:  # rename a file
                        path = rng.choice(files)
                        parent, _, name = path.rpartition("/")
                        target = rng.choice(dirs)
                        new = f"r{counter}"
                        stub.AtomicRenameEntry(filer_pb.AtomicRenameEntryRequest(
                            old_directory=parent, old_name=name, new_directory=target, new_name=new))
                        files.remove(path)
                        files.append(f"{target}/{new}")
                    elif roll < 0.85 and len(dirs) > 2:  # rename a directory (not into itself)
                        d = rng.choice(dirs[1:])
                        targets = [t for t in dirs if not (t == d or t.startswith(d + "/"))]
                        target = rng.choice(targets)
                        parent, _, name = d.rpartition("/")
                        new = f"m{counter}"
                        stub.AtomicRenameEntry(filer_pb.AtomicRenameEntryRequest(
                            old_directory=parent, old_name=name, new_directory=target, new_name=new))
                        moved = f"{target}/{new}"
                        dirs = [moved + p[len(d):] if p == d or p.startswith(d + "/") else p for p in dirs]
                        files = [moved + p[len(d):] if p.startswith(d + "/") else p for p in files]
                    elif roll < 0.95:  # delete a file
                        path = rng.choice(files)
                        parent, _, name = path.rpartition("/")
                        reply = stub.DeleteEntry(filer_pb.DeleteEntryRequest(directory=parent, name=name))
                        if reply.error:
                            raise AssertionError(reply.error)
                        files.remove(path)
                    elif len(dirs) > 2:  # delete a directory tree
                        d = rng.choice(dirs[1:])
                        parent, _, name = d.rpartition("/")
                        reply = stub.DeleteEntry(filer_pb.DeleteEntryRequest(
                            directory=parent, name=name, is_recursive=True))
                        if reply.error:
                            raise AssertionError(reply.error)
                        dirs = [p for p in dirs if not (p == d or p.startswith(d + "/"))]
                        files = [p for p in files if not p.startswith(d + "/")]
                    self.ops += 1
                except grpc.RpcError as err:  # a filer killed on purpose: go on with the next
                    self.errors.append(str(err.code()))
                    if err.code() == grpc.StatusCode.UNAVAILABLE:
                        channel.close()
                        addresses.append(addresses.pop(0))
                        channel, stub = filer_stub(addresses[0])
                    time.sleep(0.2)
                except AssertionError as err:  # the model went stale after a failed call
                    self.errors.append(str(err))
                if self.pause_seconds:
                    time.sleep(self.pause_seconds)
        finally:
            channel.close()


def backup_toml(path: Path, store_toml: str) -> Path:
    path.write_text(store_toml)
    return path


def kelp_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO_ROOT), str(REPO_ROOT / "proto"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def kelp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ops.cli.main", *args]


class BackupProcess:
    """One `kelp filer.meta.backup` process; its output goes to `log_path`."""

    def __init__(self, filers: Sequence[str], config: Path, log_path: Path, *extra: str) -> None:
        self.args = [f"-filer={','.join(filers)}", f"-config={config}", *extra]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *more: str) -> BackupProcess:
        with self.log_path.open("ab") as log:
            log.write(f"===== start {' '.join(self.args + list(more))}\n".encode())
            log.flush()
            self.process = subprocess.Popen(kelp_command("filer.meta.backup", *self.args, *more),
                                            cwd=REPO_ROOT, env=kelp_env(), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def wait(self, seconds: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=seconds)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def backup_process(filers: Sequence[str], config: Path, log_path: Path,
                   *extra: str) -> Iterator[BackupProcess]:
    proc = BackupProcess(filers, config, log_path, *extra)
    try:
        yield proc
    finally:
        proc.kill()


def verify(filers: Sequence[str], config: Path, *extra: str, timeout: float = 120) -> tuple[int, str]:
    done = subprocess.run(kelp_command("filer.meta.verify", f"-filer={','.join(filers)}", f"-config={config}",
                                       *extra), cwd=REPO_ROOT, env=kelp_env(), capture_output=True,
                          timeout=timeout, check=False)
    return done.returncode, done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")


def wait_verified(filers: Sequence[str], config: Path, seconds: float) -> str:
    """Poll filer.meta.verify until it reports 0 differences; returns its output."""
    last = [""]

    def same() -> bool:
        code, out = verify(filers, config)
        last[0] = out
        return code == 0

    try:
        wait_for("filer.meta.verify to report 0 differences", same, seconds)
    except AssertionError as err:
        raise AssertionError(f"{err}; last verify output:\n{last[0]}") from None
    return last[0]
