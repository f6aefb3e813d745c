"""`volume.*` commands: volume.list (issue 6; the mutating volume commands come with their RPCs).

Imports controlplane.shell only.
"""

from __future__ import annotations

from controlplane.shell.env import ShellEnv
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.master_admin import ServerReport
from controlplane.shell.registry import Command


def render_volume_list(servers: tuple[ServerReport, ...], collection: str = "") -> str:
    """weed's tree: data center, rack, server (volumes/slots), then one line per volume."""
    lines: list[str] = []
    total = 0
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
    lines.append(f"total {len(servers)} volume servers, {total} volume replicas")
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


COMMANDS: tuple[type[Command], ...] = (VolumeListCommand,)
