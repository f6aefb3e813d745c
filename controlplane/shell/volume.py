"""`volume.*` commands: volume.list, volume.mark, volume.delete (issue 6; volume.fix.replication,
volume.balance and volume.vacuum plan with replica_plan.py / balance_plan.py and come with the
copy RPCs they need). Mutating commands need the admin lock (`lock`), as weed's do.

Imports controlplane.shell only.
"""

from __future__ import annotations

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed, CommandUsageError
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.master_admin import ServerReport
from controlplane.shell.registry import Command


def render_volume_list(servers: tuple[ServerReport, ...], collection: str = "") -> str:
    """weed's tree: data center, rack, server (volumes/slots), then one line per volume and per
    erasure-coded volume with shards there."""
    lines: list[str] = []
    total = ec_total = 0
    last_dc = last_rack = None
    for server in servers:
        if server.data_center != last_dc:
            lines.append(f"DataCenter {server.data_center or '(none)'}")
            last_dc, last_rack = server.data_center, None
        if server.rack != last_rack:
            lines.append(f"  Rack {server.rack or '(none)'}")
            last_rack = server.rack
        shown = [v for v in server.volumes if not collection or v.collection == collection]
        lines.append(f"    DataNode {server.address} volumes:{len(server.volumes)}/{server.max_volumes}")
        for v in shown:
            lines.append(
                f"      volume id:{v.volume_id} size:{v.size} collection:\"{v.collection}\" "
                f"file_count:{v.file_count} delete_count:{v.delete_count} deleted_bytes:{v.deleted_bytes} "
                f"replica_placement:{v.replication} read_only:{str(v.read_only).lower()}"
                + (f" disk:{v.disk_type}" if v.disk_type else "")
            )
        total += len(shown)
        for e in server.ec_shards:  # as weed lists them: the shard ids this server holds
            if not collection or e.collection == collection:
                shards = " ".join(str(i) for i in e.shard_ids)
                lines.append(f"      ec volume id:{e.volume_id} collection:\"{e.collection}\" "
                             f"shards:[{shards}]")
                ec_total += len(e.shard_ids)
    lines.append(f"total {len(servers)} volume servers, {total} volume replicas"
                 + (f", {ec_total} ec shards" if ec_total else ""))
    return "\n".join(lines)


class VolumeListCommand(Command):
    name = "volume.list"
    summary = "list volume servers by data center and rack, with their volumes"
    example = "volume.list -collection=pictures"

    def declare(self, flags: FlagSet) -> None:
        flags.string("collection", "", "only volumes of this collection")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        servers = await env.masters.call_read(lambda master: master.volume_topology())
        env.write(render_volume_list(servers, flags.text("collection")))


async def _replicas(env: ShellEnv, command: str, volume_id: int, node: str = "") -> list[ServerReport]:
    """The servers holding `volume_id` (only `node`, when given); CommandFailed when none does."""
    servers = await env.masters.call_read(lambda master: master.volume_topology())
    holders = [s for s in servers if any(v.volume_id == volume_id for v in s.volumes)
               and (not node or s.address == node)]
    if not holders:
        where = f" on {node}" if node else ""
        raise CommandFailed(command, f"volume {volume_id} not found{where}")
    return holders


class VolumeMarkCommand(Command):
    name = "volume.mark"
    summary = "mark a volume read-only or writable on every server holding it (or -node)"
    example = "volume.mark -volumeId=7 -readonly"
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.integer("volumeId", 0, "the volume", minimum=0)
        flags.string("node", "", "only this server (ip:port)")
        flags.boolean("readonly", False, "mark read-only")
        flags.boolean("writable", False, "mark writable")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        read_only, writable = flags.boolean("readonly"), flags.boolean("writable")
        if read_only == writable:
            raise CommandUsageError(self.name, "give exactly one of -readonly and -writable")
        if not flags.integer("volumeId"):
            raise CommandUsageError(self.name, "-volumeId is required")
        await env.confirm_locked(self.name)
        vid = flags.integer("volumeId")
        for server in await _replicas(env, self.name, vid, flags.text("node")):
            await env.volumes(self.name).mark_read_only(server, vid, read_only)
            env.write(f"volume {vid} on {server.address}: {'read-only' if read_only else 'writable'}")


class VolumeDeleteCommand(Command):
    name = "volume.delete"
    summary = "delete one replica of a volume from one server"
    example = "volume.delete -volumeId=7 -node=10.0.0.1:8080"
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.integer("volumeId", 0, "the volume", minimum=0)
        flags.string("node", "", "the server holding the replica to delete (ip:port)")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        if not flags.integer("volumeId") or not flags.text("node"):
            raise CommandUsageError(self.name, "-volumeId and -node are required")
        await env.confirm_locked(self.name)
        vid = flags.integer("volumeId")
        for server in await _replicas(env, self.name, vid, flags.text("node")):
            await env.volumes(self.name).delete_volume(server, vid)
            env.write(f"volume {vid} deleted from {server.address}")


class VolumeVacuumCommand(Command):
    name = "volume.vacuum"
    summary = "compact volumes whose garbage ratio is over the threshold, on every replica"
    example = "volume.vacuum -garbageThreshold=0.3"
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.number("garbageThreshold", 0.3, "compact a volume whose deleted bytes exceed this share")
        flags.integer("volumeId", 0, "only this volume (0: every volume)", minimum=0)
        flags.string("collection", "", "only volumes of this collection")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        await env.confirm_locked(self.name)
        threshold, only = flags.number("garbageThreshold"), flags.integer("volumeId")
        servers = await env.masters.call_read(lambda master: master.volume_topology())
        volumes = env.volumes(self.name)
        done = 0
        for server in servers:
            for volume in server.volumes:
                if (only and volume.volume_id != only) or (flags.text("collection")
                                                           and volume.collection != flags.text("collection")):
                    continue
                ratio = await volumes.garbage_ratio(server, volume.volume_id)
                if ratio <= threshold:
                    continue
                reclaimed = await volumes.vacuum(server, volume.volume_id)
                done += 1
                env.write(f"volume {volume.volume_id} on {server.address}: garbage {ratio:.2f}, "
                          f"reclaimed {reclaimed} bytes")
        env.write(f"vacuumed {done} volume replicas")


COMMANDS: tuple[type[Command], ...] = (VolumeListCommand, VolumeMarkCommand, VolumeDeleteCommand,
                                       VolumeVacuumCommand)
