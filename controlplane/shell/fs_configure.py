"""fs.configure: show and change the filer's path rules (/etc/seaweedfs/filer.conf).

As `weed shell fs.configure`: with no -locationPrefix it prints the current configuration; with
one it merges the given options into that prefix's rule (or removes the rule with -delete) and
prints the result, saying it is a simulation unless -apply is given, in which case it writes the
file. Checks as weed's: a collection cannot be set under /buckets/, -volumeGrowthCount must be a
multiple of the replication's copy count, -ttl is 1-255 with a unit (m h d w M y). An explicitly
given -readOnly=false or -fsync=false turns the flag off (merging alone only ORs flags).

kelp addition: `-filer=host:port[.grpcPort]` names the filer (weed shell takes it from its own
-filer option); default localhost:8888. The file is read and written over the filer's gRPC API
(LookupDirectoryEntry, CreateEntry with inline content) as weed's SaveInsideFiler does. Not
offered: -worm, -wormGracePeriod, -wormRetentionTime (kelp filers do not enforce WORM).

Imports controlplane.shell (its flags too), the filer's pure path_rules module and grpc for the
filer call.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Protocol

import grpc
import grpc.aio
from kelp_pb import weed_filer_pb2 as filer_pb
from kelp_pb import weed_filer_pb2_grpc

from controlplane.filer import path_rules
from controlplane.filer.path_rules import PathConf
from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed, CommandUsageError
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.registry import Command
from dataplane.client.addresses import InvalidServerAddress, ServerAddress
from dataplane.volume.engine.errors import InvalidReplication
from dataplane.volume.engine.types import ReplicaPlacement

DEFAULT_FILER = "localhost:8888"
FILER_CALL_SECONDS = 10.0
NOT_FOUND = "no entry is found"  # the filer's not-found text (a gRPC status message)
_TTL_RE = re.compile(r"^(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)[mhdwMy]$")
SIMULATION_NOTE = 'Running in simulation mode. Use "-apply" option to apply the changes.'


@dataclass(frozen=True, slots=True)
class RuleChange:
    """What one fs.configure invocation asks for."""

    rule: PathConf
    delete: bool = False
    read_only_given: bool = False
    fsync_given: bool = False


class InvalidRuleChange(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(change: RuleChange) -> None:
    """weed's checks of the options; raises InvalidRuleChange saying what to fix."""
    rule = change.rule
    if rule.collection and rule.location_prefix.startswith("/buckets/"):
        raise InvalidRuleChange("one s3 bucket goes to one collection and not customizable")
    if rule.replication:
        try:
            copies = ReplicaPlacement.parse(rule.replication).copy_count
        except InvalidReplication as err:
            raise InvalidRuleChange(f"parse replication {rule.replication}: {err}") from err
        if rule.volume_growth_count % copies:
            raise InvalidRuleChange(f"volumeGrowthCount {rule.volume_growth_count} should be divided by "
                                    f"replication copy count {copies}")
    if rule.ttl and not _TTL_RE.match(rule.ttl):
        raise InvalidRuleChange("ttl should be of the following format [1 to 255][unit] "
                                "(e.g., 5m, 2h, 180d, 1w, 2y)")


def apply_change(conf: filer_pb.FilerConf, change: RuleChange) -> filer_pb.FilerConf:
    """The configuration after `change` (conf itself is left as it was)."""
    check(change)
    prefix = change.rule.location_prefix
    if change.delete:
        return path_rules.without_location(conf, prefix)
    out = path_rules.with_location(conf, change.rule)
    for location in out.locations:
        if location.location_prefix == prefix:
            if change.read_only_given:
                location.read_only = change.rule.read_only
            if change.fsync_given:
                location.fsync = change.rule.fsync
    return out


class ConfFile(Protocol):
    """Where filer.conf is read and written (the filer; a fake in tests)."""

    async def read(self) -> bytes: ...
    async def write(self, content: bytes) -> None: ...


class FilerConfFile:
    """filer.conf on a filer, over filer_pb.SeaweedFiler."""

    def __init__(self, address: str) -> None:
        self._target = ServerAddress.parse(address).grpc

    async def read(self) -> bytes:
        async with grpc.aio.insecure_channel(self._target) as channel:
            stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
            request = filer_pb.LookupDirectoryEntryRequest(directory=path_rules.CONF_DIRECTORY,
                                                           name=path_rules.CONF_NAME)
            try:
                reply = await stub.LookupDirectoryEntry(request, timeout=FILER_CALL_SECONDS)
            except grpc.aio.AioRpcError as err:
                if NOT_FOUND in (err.details() or ""):
                    return b""
                raise
        if not reply.entry.content and reply.entry.chunks:
            raise CommandFailed("fs.configure", f"{path_rules.CONF_PATH} is stored in chunks, not inline; "
                                "rewrite it with fs.configure -apply")
        return bytes(reply.entry.content)

    async def write(self, content: bytes) -> None:
        now = time.time_ns()
        entry = filer_pb.Entry(name=path_rules.CONF_NAME, content=content)
        a = entry.attributes
        a.file_mode, a.file_size, a.md5 = 0o644, len(content), hashlib.md5(content).digest()
        a.mtime, a.mtime_ns = divmod(now, 1_000_000_000)
        a.crtime, a.crtime_ns = a.mtime, a.mtime_ns
        async with grpc.aio.insecure_channel(self._target) as channel:
            stub = weed_filer_pb2_grpc.SeaweedFilerStub(channel)
            reply = await stub.CreateEntry(
                filer_pb.CreateEntryRequest(directory=path_rules.CONF_DIRECTORY, entry=entry),
                timeout=FILER_CALL_SECONDS,
            )
        if reply.error:
            raise CommandFailed("fs.configure", f"save {path_rules.CONF_PATH}: {reply.error}")


def _filer_address(text: object) -> str | None:
    try:
        ServerAddress.parse(str(text))
    except InvalidServerAddress as err:
        return str(err)
    return None


class FsConfigure(Command):
    name = "fs.configure"
    summary = "show or change the filer's path-specific storage rules (filer.conf)"
    example = "fs.configure -locationPrefix=/my/folder/ -collection=abc -ttl=7d -apply"
    details = """
Without -locationPrefix: print the configuration. With it: merge the options into that prefix's
rule (or remove it with -delete) and print the result; nothing is written without -apply.
kelp: -filer names the filer (default localhost:8888); -worm* options are not offered.
"""
    mutating = True

    def __init__(self, conf_file: ConfFile | None = None) -> None:
        self._conf_file = conf_file  # tests give a fake; else the -filer one

    def declare(self, flags: FlagSet) -> None:
        flags.string("locationPrefix", "", "path prefix, required to update the path-specific configuration")
        flags.string("collection", "", "assign writes to this collection")
        flags.string("replication", "", "assign writes with this replication")
        flags.string("ttl", "", "assign writes with this ttl (e.g., 1m, 1h, 1d, 1w, 1y)")
        flags.string("disk", "", "[hdd|ssd|<tag>] hard drive or solid state drive or any tag")
        flags.boolean("fsync", False, "fsync for the writes")
        flags.boolean("readOnly", False, "disable writes")
        flags.integer("maxFileNameLength", 0, "file name length limits in bytes", minimum=0)
        flags.string("dataCenter", "", "assign writes to this dataCenter")
        flags.string("rack", "", "assign writes to this rack")
        flags.string("dataNode", "", "assign writes to this dataNode")
        flags.integer("volumeGrowthCount", 0, "the number of physical volumes to add if no writable volumes",
                      minimum=0)
        flags.boolean("delete", False, "delete the configuration by locationPrefix")
        flags.boolean("apply", False, "update and apply filer configuration")
        flags.string("filer", DEFAULT_FILER, "the filer: host:port[.grpcPort] (kelp)", check=_filer_address)

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        conf_file = self._conf_file or FilerConfFile(flags.text("filer"))
        try:
            conf = path_rules.parse(await conf_file.read())
        except path_rules.InvalidFilerConf as err:
            raise CommandFailed(self.name, str(err)) from err
        except grpc.aio.AioRpcError as err:
            raise CommandFailed(self.name, f"read {path_rules.CONF_PATH}: {err.details()}") from err
        apply = flags.boolean("apply")
        prefix = flags.text("locationPrefix")
        if prefix:
            if not apply:
                env.write(SIMULATION_NOTE)
            rule = PathConf(
                location_prefix=prefix, collection=flags.text("collection"),
                replication=flags.text("replication"), ttl=flags.text("ttl"), disk_type=flags.text("disk"),
                fsync=flags.boolean("fsync"), read_only=flags.boolean("readOnly"),
                max_file_name_length=flags.integer("maxFileNameLength"),
                data_center=flags.text("dataCenter"), rack=flags.text("rack"),
                data_node=flags.text("dataNode"), volume_growth_count=flags.integer("volumeGrowthCount"),
            )
            change = RuleChange(rule, delete=flags.boolean("delete"),
                                read_only_given=flags.given("readOnly"), fsync_given=flags.given("fsync"))
            try:
                conf = apply_change(conf, change)
            except InvalidRuleChange as err:
                raise CommandUsageError(self.name, err.reason) from err
        text = path_rules.to_text(conf)
        env.write(text + "\n")
        if apply:
            await env.before_mutation(self.name)
            try:
                await conf_file.write(text.encode())
            except grpc.aio.AioRpcError as err:
                raise CommandFailed(self.name, f"save {path_rules.CONF_PATH}: {err.details()}") from err


COMMANDS = [FsConfigure]
