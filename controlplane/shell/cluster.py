"""cluster.* commands: the master cluster's status and its Raft membership.

- cluster.status       leader, term, log indexes, members with role and health, topology counts;
- cluster.raft.ps      the members table;
- cluster.raft.add     make a started master a voting member (leader only; the shell finds it);
- cluster.raft.remove  take a master out of the configuration.

SeaweedFS spells membership changes `cluster.raft.add -id=<name> -address=<host:port>`; kelp
names a master by its address alone, so `-id` is accepted and ignored (remove uses it as the
address when `-address` is not given: weed's ids are master addresses). Both act at once, as
weed's do, after `env.before_mutation`.

Imports controlplane.shell and controlplane.shell.flags only.
"""

from __future__ import annotations

from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandUsageError, MasterCallError, NoMasterAvailable
from controlplane.shell.flags import Flags, FlagSet, FlagValue, host_ports
from controlplane.shell.master_admin import ClusterStatus, Member, TopologyCounts
from controlplane.shell.registry import Command
from controlplane.shell.table import plural, render_fields, render_table, yes_no
from dataplane.client.addresses import ServerAddress

MEMBER_HEADERS = ["ADDRESS", "RAFT", "ROLE", "HEALTHY"]
DIGEST_CHARS = 16  # of the state's sha256: enough to tell two masters' states apart by eye


def member_rows(members: tuple[Member, ...], *, last_contact: bool) -> list[list[str]]:
    rows = []
    for m in sorted(members, key=lambda m: m.address):
        row = [m.address, m.raft_address, m.role, yes_no(m.healthy)]
        if last_contact:
            row.append("-" if m.last_contact_seconds is None else f"{m.last_contact_seconds:.1f} s ago")
        rows.append(row)
    return rows


def render_status(status: ClusterStatus, topology: TopologyCounts | str) -> str:
    """The cluster.status text; `topology` is the counts or why they are missing."""
    fields = [("leader", status.leader or "none (an election may be under way)"), ("term", str(status.term))]
    if not status.is_leader:
        fields.append(("answered by", f"{status.answered_by} (a follower: its view may lag)"))
    fields += [
        ("event index", str(status.event_index)),
        ("state digest", status.state_digest[:DIGEST_CHARS] or "-"),
        ("raft log", f"commit index {status.commit_index}, applied index {status.applied_index}"),
        ("max volume id", str(status.max_volume_id)),
    ]
    if isinstance(topology, TopologyCounts):
        counts = [
            plural(topology.data_centers, "data center"), plural(topology.racks, "rack"),
            plural(topology.nodes, "volume server"), plural(topology.volumes, "volume"),
        ]
        fields.append(("topology", ", ".join(counts)))
    else:
        fields.append(("topology", f"unavailable ({topology})"))
    fields.append(("members", str(len(status.members))))
    rows = member_rows(status.members, last_contact=True)
    return render_fields(fields) + render_table([*MEMBER_HEADERS, "LAST CONTACT"], rows, indent="  ")


def _raft_address_flag(flags: FlagSet, doc: str) -> None:
    flags.string("address", "", doc, check=_empty_or_host_port)
    flags.string("id", "", "accepted for weed compatibility and ignored (kelp names a master by its address)")


def _empty_or_host_port(value: FlagValue) -> str | None:
    return None if value == "" else host_ports(value)


class ClusterStatusCommand(Command):
    name = "cluster.status"
    summary = "the master cluster: leader, term, log indexes, members and their health, topology"
    details = (
        "Asks any master and, when that one is a follower, the leader it names (only the leader\n"
        "knows its followers' health). 'event index' is the last applied event, the same on every\n"
        "master once they have caught up; 'raft log' indexes count Raft's own entries too."
    )

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        status = await env.masters.status()
        topology: TopologyCounts | str
        try:
            topology = await env.masters.call_read(lambda master: master.topology_counts())
        except (MasterCallError, NoMasterAvailable) as err:
            topology = err.reason
        env.write(render_status(status, topology))


class RaftPsCommand(Command):
    name = "cluster.raft.ps"
    summary = "list the masters in the Raft configuration with their role and health"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        members = await env.masters.call_any(lambda master: master.list_cluster_servers())
        env.write(render_table(MEMBER_HEADERS, member_rows(members, last_contact=False)))


class RaftAddCommand(Command):
    name = "cluster.raft.add"
    summary = "add a started master to the master cluster as a voting member"
    example = "cluster.raft.add -address=10.0.0.4:9333"
    details = (
        "Start the new master first with -peers naming the current masters and itself; its Raft\n"
        "port follows the same convention. The leader adds it; the shell finds the leader.\n"
        "-id is SeaweedFS's server id: accepted and ignored. -voter=false is not supported."
    )
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        _raft_address_flag(flags, "HTTP host:port of the master to add")
        flags.boolean("voter", True, "weed's suffrage flag; kelp masters are always voters")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        if not flags.text("address"):
            raise CommandUsageError(self.name, "-address is required (e.g. -address=10.0.0.4:9333)")
        if not flags.boolean("voter"):
            raise CommandUsageError(self.name, "-voter=false: kelp has no non-voting masters")
        address = ServerAddress.parse(flags.text("address")).http
        await env.before_mutation(self.name)
        members = await env.masters.call_leader(lambda master: master.add_server(address))
        env.write(f"added {address} to the master cluster; members now:")
        env.write(render_table(MEMBER_HEADERS, member_rows(members, last_contact=False), indent="  "))


class RaftRemoveCommand(Command):
    name = "cluster.raft.remove"
    summary = "remove a master from the master cluster"
    example = "cluster.raft.remove -address=10.0.0.4:9333"
    details = (
        "The leader removes it from the Raft configuration; stop that master afterwards.\n"
        "-id is SeaweedFS's server id: used as the address when -address is not given (weed's\n"
        "ids are master addresses), ignored otherwise."
    )
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        _raft_address_flag(flags, "HTTP host:port of the master to remove")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        text = flags.text("address") or flags.text("id")
        if not text:
            raise CommandUsageError(self.name, "-address is required (e.g. -address=10.0.0.4:9333)")
        if host_ports(text):
            problem = f"-id: {text!r} is not a master address (use -address=host:port)"
            raise CommandUsageError(self.name, problem)
        address = ServerAddress.parse(text).http
        await env.before_mutation(self.name)
        members = await env.masters.call_leader(lambda master: master.remove_server(address))
        env.write(f"removed {address} from the master cluster; members now:")
        env.write(render_table(MEMBER_HEADERS, member_rows(members, last_contact=False), indent="  "))


COMMANDS: tuple[type[Command], ...] = (ClusterStatusCommand, RaftPsCommand, RaftAddCommand, RaftRemoveCommand)
