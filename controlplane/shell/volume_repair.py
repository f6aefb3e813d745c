"""volume.fix.replication, volume.balance and volume.configure.replication (issue 6).

The first two plan with the pure planners (replica_plan.plan, balance_plan.plan_balance) over
the master's topology, print the plan, and act only with `-apply` (weed's flag; `-force`, its
older spelling, is accepted too), under the admin lock, confirming the lock with the leader
before every step (a lock lost to a failover or a lapse stops the run between steps):
- fix.replication copies a healthy replica to each planned target (the target pulls it:
  kelp.v1.VolumeAdmin/VolumeCopy), then deletes the extra or misplaced replicas of volumes whose
  adds all succeeded (never with `-doDelete=false`);
- balance moves one replica at a time: the source is marked read-only (so the copy is whole),
  copied, deleted from the source, and the new replica made writable again if it was.
configure.replication rewrites the placement of every replica of one volume, as weed's does;
run volume.fix.replication afterwards to add or remove replicas for it.

Imports controlplane.shell only.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from controlplane.shell import balance_plan, replica_plan
from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed, CommandUsageError
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.master_admin import ServerReport, VolumeReport
from controlplane.shell.registry import Command
from dataplane.volume.engine.errors import InvalidReplication
from dataplane.volume.engine.types import ReplicaPlacement

UNLIMITED_SLOTS = 1 << 20  # a server reporting no slot limit


def _apply_flags(flags: FlagSet) -> None:
    flags.boolean("apply", False, "act on the plan (without it the plan is only printed)")
    flags.boolean("force", False, "the older spelling of -apply")


def _applying(flags: Flags) -> bool:
    return flags.boolean("apply") or flags.boolean("force")


def planner_inputs(
    servers: Sequence[ServerReport], pattern: str = ""
) -> tuple[list[replica_plan.VolumeReplicas], list[replica_plan.Server]]:
    """The planners' view of the topology: each volume (of collections matching the glob
    `pattern`, all when empty) with its holders in topology order, and each server with its
    free slots."""
    holders: dict[int, list[str]] = {}
    first: dict[int, VolumeReport] = {}
    for server in servers:
        for volume in server.volumes:
            if pattern and not fnmatch.fnmatchcase(volume.collection, pattern):
                continue
            holders.setdefault(volume.volume_id, []).append(server.address)
            first.setdefault(volume.volume_id, volume)
    volumes = [
        replica_plan.VolumeReplicas(vid, ReplicaPlacement.parse(first[vid].replication), tuple(holders[vid]))
        for vid in sorted(holders)
    ]
    planned = [
        replica_plan.Server(s.address, s.data_center, s.rack,
                            (s.max_volumes - len(s.volumes)) if s.max_volumes else UNLIMITED_SLOTS)
        for s in servers
    ]
    return volumes, planned


def _report(servers: Sequence[ServerReport], address: str) -> ServerReport:
    for server in servers:
        if server.address == address:
            return server
    raise CommandFailed("volume", f"server {address} is not in the topology")


def _volume(server: ServerReport, vid: int) -> VolumeReport:
    for volume in server.volumes:
        if volume.volume_id == vid:
            return volume
    raise CommandFailed("volume", f"volume {vid} is not on {server.address}")


class VolumeFixReplicationCommand(Command):
    name = "volume.fix.replication"
    summary = "add missing replicas (copying a healthy one) and remove extra or misplaced ones"
    example = "volume.fix.replication -apply"
    details = (
        "Replicas are placed by each volume's xyz: x in other data centers, y in other racks,\n"
        "z on other servers of the same rack. Without -apply the plan is printed and nothing\n"
        "changes. -doDelete=false only adds. Needs the admin lock to act."
    )
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        _apply_flags(flags)
        flags.boolean("doDelete", True, "also remove extra or misplaced replicas")
        flags.string("collectionPattern", "", "only collections matching this glob (e.g. important*)")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        servers = await env.masters.call_read(lambda master: master.volume_topology())
        volumes, planned = planner_inputs(servers, flags.text("collectionPattern"))
        plan = replica_plan.plan(volumes, planned, allow_delete=flags.boolean("doDelete"))
        for add in plan.adds:
            env.write(f"volume {add.volume_id}: copy from {add.source} to {add.target}")
        for remove in plan.removes:
            env.write(f"volume {remove.volume_id}: remove the replica on {remove.holder}")
        for vid, why in plan.unfixable:
            env.write(f"volume {vid}: cannot fix: {why}")
        if not plan.adds and not plan.removes:
            env.write("every volume has its replicas")
            return
        if not _applying(flags):
            env.write("(plan only: add -apply to act)")
            return
        failed: set[int] = set()
        volumes_api = env.volumes(self.name)
        with env.progress_bar(len(plan.adds) + len(plan.removes), "replicas fixed") as progress:
            for add in plan.adds:
                await env.confirm_locked(self.name)
                source, target = _report(servers, add.source), _report(servers, add.target)
                collection = _volume(source, add.volume_id).collection
                try:
                    copied = await volumes_api.copy_volume(target, source, add.volume_id, collection)
                except CommandFailed as err:
                    failed.add(add.volume_id)
                    progress.step(f"volume {add.volume_id}: copy to {add.target} FAILED: {err.reason}")
                    continue
                progress.step(f"volume {add.volume_id}: copied {copied} bytes to {add.target}")
            for remove in plan.removes:
                if remove.volume_id in failed:
                    progress.step(f"volume {remove.volume_id}: kept on {remove.holder} (an add failed)")
                    continue
                await env.confirm_locked(self.name)
                await volumes_api.delete_volume(_report(servers, remove.holder), remove.volume_id)
                progress.step(f"volume {remove.volume_id}: removed from {remove.holder}")
        if failed:
            raise CommandFailed(self.name, f"copies failed for volumes {sorted(failed)}")


class VolumeBalanceCommand(Command):
    name = "volume.balance"
    summary = "move volume replicas so every server is equally full (placements kept)"
    example = "volume.balance -apply"
    details = (
        "Moves go from the fullest server (volumes / slots) to the emptiest one that has no\n"
        "replica of that volume, never breaking a volume's placement. Without -apply the plan\n"
        "is printed. -collection ALL_COLLECTIONS and EACH_COLLECTION both balance every volume."
    )
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        _apply_flags(flags)
        flags.string("collection", "ALL_COLLECTIONS",
                     "ALL_COLLECTIONS, EACH_COLLECTION or one collection name")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        servers = await env.masters.call_read(lambda master: master.volume_topology())
        collection = flags.text("collection")
        pattern = "" if collection in ("ALL_COLLECTIONS", "EACH_COLLECTION") else collection
        volumes, planned = planner_inputs(servers, pattern)
        capacity = {s.address: s.max_volumes or UNLIMITED_SLOTS for s in servers}
        moves = balance_plan.plan_balance(volumes, planned, capacity)
        for move in moves:
            env.write(f"volume {move.volume_id}: move from {move.source} to {move.target}")
        if not moves:
            env.write("the servers are balanced")
            return
        if not _applying(flags):
            env.write("(plan only: add -apply to act)")
            return
        volumes_api = env.volumes(self.name)
        with env.progress_bar(len(moves), "moves") as progress:
            for move in moves:
                await env.confirm_locked(self.name)
                source, target = _report(servers, move.source), _report(servers, move.target)
                replica = _volume(source, move.volume_id)
                if not replica.read_only:
                    await volumes_api.mark_read_only(source, move.volume_id, True)
                try:
                    await volumes_api.copy_volume(target, source, move.volume_id, replica.collection)
                except CommandFailed:
                    if not replica.read_only:
                        await volumes_api.mark_read_only(source, move.volume_id, False)
                    raise
                await env.confirm_locked(self.name)
                await volumes_api.delete_volume(source, move.volume_id)
                if not replica.read_only:
                    await volumes_api.mark_read_only(target, move.volume_id, False)
                progress.step(f"volume {move.volume_id}: moved from {move.source} to {move.target}")


class VolumeConfigureReplicationCommand(Command):
    name = "volume.configure.replication"
    summary = "change a volume's replica placement on every server holding it"
    example = "volume.configure.replication -volumeId=7 -replication=001"
    details = "Follow it with volume.fix.replication to add or remove replicas for the new placement."
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.integer("volumeId", 0, "the volume", minimum=0)
        flags.string("replication", "", "the new placement, xyz (e.g. 001)")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        vid, text = flags.integer("volumeId"), flags.text("replication")
        if not vid or not text:
            raise CommandUsageError(self.name, "-volumeId and -replication are required")
        try:
            placement = ReplicaPlacement.parse(text)
        except InvalidReplication:
            raise CommandUsageError(self.name, f"-replication: {text!r} is not xyz (e.g. 001)") from None
        servers = await env.masters.call_read(lambda master: master.volume_topology())
        holders = [s for s in servers if any(v.volume_id == vid for v in s.volumes)]
        if not holders:
            raise CommandFailed(self.name, f"volume {vid} not found")
        await env.confirm_locked(self.name)
        for server in holders:
            await env.volumes(self.name).configure_replication(server, vid, str(placement))
            env.write(f"volume {vid} on {server.address}: replication {placement}")


COMMANDS: tuple[type[Command], ...] = (VolumeFixReplicationCommand, VolumeBalanceCommand,
                                       VolumeConfigureReplicationCommand)
