"""`fs.*` commands over a filer: fs.ls [-l], fs.du, fs.cat, fs.meta.cat (issue 6).

Entries come from filer_pb.SeaweedFiler (ListEntries, LookupDirectoryEntry) through the
`FilerReader` seam; fs.cat reads the file over the filer's HTTP API, as any client does. Paths are
absolute; `-filer=host:port[.grpcPort]` names the filer (default localhost:8888), as fs.configure.

Imports controlplane.shell, kelp_http's client and grpc (FilerReader only).
"""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

import grpc
import grpc.aio
from google.protobuf import json_format
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed, CommandUsageError
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.fs_configure import DEFAULT_FILER, FILER_CALL_SECONDS, _filer_address
from controlplane.shell.registry import Command
from dataplane.client.addresses import ServerAddress
from kelp_http import HttpClient, HttpClientError

PAGE = 1000


class FilerReader(Protocol):
    def entries(self, directory: str) -> AsyncIterator[filer_pb.Entry]: ...
    async def lookup(self, path: str) -> filer_pb.Entry: ...
    async def read(self, path: str) -> bytes: ...


class GrpcFilerReader:
    def __init__(self, address: str) -> None:
        parsed = ServerAddress.parse(address)
        self._grpc, self._http = parsed.grpc, parsed.http

    async def entries(self, directory: str) -> AsyncIterator[filer_pb.Entry]:
        start = ""
        async with grpc.aio.insecure_channel(self._grpc) as channel:
            stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
            while True:
                request = filer_pb.ListEntriesRequest(directory=directory, startFromFileName=start,
                                                      limit=PAGE)
                count = 0
                async for reply in stub.ListEntries(request, timeout=FILER_CALL_SECONDS):
                    count += 1
                    start = reply.entry.name
                    yield reply.entry
                if count < PAGE:
                    return

    async def lookup(self, path: str) -> filer_pb.Entry:
        directory, _, name = path.rstrip("/").rpartition("/")
        if not name:  # the root
            return filer_pb.Entry(name="", is_directory=True)
        async with grpc.aio.insecure_channel(self._grpc) as channel:
            stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
            request = filer_pb.LookupDirectoryEntryRequest(directory=directory or "/", name=name)
            try:
                reply = await stub.LookupDirectoryEntry(request, timeout=FILER_CALL_SECONDS)
            except grpc.aio.AioRpcError as err:
                raise CommandFailed("fs", f"{path}: {err.details() or err.code().name}") from err
        return reply.entry

    async def read(self, path: str) -> bytes:
        client = HttpClient()
        try:
            reply = await client.request("GET", self._http, path, timeout=FILER_CALL_SECONDS)
        except HttpClientError as err:
            raise CommandFailed("fs.cat", f"{path}: {err}") from err
        finally:
            await client.close()
        if reply.status != 200:
            raise CommandFailed("fs.cat", f"{path}: HTTP {reply.status}")
        return reply.body


def _declare(flags: FlagSet) -> None:
    flags.string("filer", DEFAULT_FILER, "the filer: host:port[.grpcPort]", check=_filer_address)


def _path(command: str, flags: Flags, default: str = "") -> str:
    given = flags.args[0] if flags.args else default
    if not given.startswith("/"):
        raise CommandUsageError(command, f"give an absolute path (got {given!r})")
    return given


def _size(entry: filer_pb.Entry) -> int:
    end = max((c.offset + c.size for c in entry.chunks), default=0)
    return int(max(entry.attributes.file_size, end, len(entry.content)))


class _FsCommand(Command):
    """Shared: the -filer flag, a path argument and the reader (a fake in tests)."""

    takes_args = True

    def __init__(self, reader: FilerReader | None = None) -> None:
        self._reader = reader

    def declare(self, flags: FlagSet) -> None:
        _declare(flags)

    def reader(self, flags: Flags) -> FilerReader:
        return self._reader if self._reader is not None else GrpcFilerReader(flags.text("filer"))


class FsLs(_FsCommand):
    name = "fs.ls"
    summary = "list a directory of the filer (-l: mode, uid, gid, size, mtime)"
    example = "fs.ls -l /buckets"

    def declare(self, flags: FlagSet) -> None:
        _declare(flags)
        flags.boolean("l", False, "long listing")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        directory = _path(self.name, flags, "/")
        async for entry in self.reader(flags).entries(directory.rstrip("/") or "/"):
            name = entry.name + ("/" if entry.is_directory else "")
            if not flags.boolean("l"):
                env.write(name)
                continue
            a = entry.attributes
            kind = stat.S_IFDIR if entry.is_directory else stat.S_IFREG
            mode = stat.filemode((a.file_mode & 0o777) | kind)
            mtime = datetime.fromtimestamp(a.mtime, UTC).strftime("%Y-%m-%d %H:%M:%S")
            env.write(f"{mode} {a.uid:>5} {a.gid:>5} {_size(entry):>12} {mtime} {name}")


class FsDu(_FsCommand):
    name = "fs.du"
    summary = "file count and bytes under a path of the filer"
    example = "fs.du /buckets/b1"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        root = _path(self.name, flags, "/").rstrip("/") or "/"
        reader = self.reader(flags)
        files = size = 0
        pending = [root]
        while pending:
            directory = pending.pop()
            async for entry in reader.entries(directory):
                if entry.is_directory:
                    pending.append(f"{directory.rstrip('/')}/{entry.name}")
                else:
                    files += 1
                    size += _size(entry)
        env.write(f"file:{files} byte:{size} {root}")


class FsCat(_FsCommand):
    name = "fs.cat"
    summary = "print a file of the filer"
    example = "fs.cat /buckets/b1/readme.txt"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        data = await self.reader(flags).read(_path(self.name, flags))
        env.out.write(data.decode("utf-8", "replace"))


class FsMetaCat(_FsCommand):
    name = "fs.meta.cat"
    summary = "print a filer entry's metadata as JSON"
    example = "fs.meta.cat /buckets/b1/readme.txt"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        entry = await self.reader(flags).lookup(_path(self.name, flags))
        env.write(json.dumps(json_format.MessageToDict(entry), indent=2, sort_keys=True))


COMMANDS: tuple[type[Command], ...] = (FsLs, FsDu, FsCat, FsMetaCat)
