"""`ec.*` commands (issue 6): ec.encode, ec.rebuild, ec.balance, ec.decode, with weed 4.48's
names and flags. All need the cluster admin lock, as weed's do.

- ec.encode acts at once (as weed 4.48's; `-force` is accepted for older scripts): each volume
  is marked read-only on every replica, its shards are generated on one replica (the first by
  address, so two encoders meet at the same server, which lets only one generate), spread by
  `ec_placement.place_shards` (copied, mounted), and only when every shard is mounted where the
  plan puts it are the source replicas deleted. Any failure before that removes the new shards
  and leaves the volume as it was (read-only); shards left by an encode that died midway (its
  source still exists) are dropped and the volume encoded again.
- ec.rebuild and ec.balance print their plan and act only with `-apply` (weed 4.48) or `-force`
  (older weed, the issue's scripts). ec.rebuild gathers ten or more shards on one holder, folds
  every holder's deletion journal into it, rebuilds the missing shards there and drops the
  copies it borrowed; ec.balance then spreads shards by `ec_placement.rebalance` (losing one
  rack, or one server with fewer than four racks, loses at most four shards) and removes
  duplicate shards.
- ec.decode gathers ten shards on the holder with the most, merges the journals into it, turns
  the EC volume back into a normal volume there and deletes the shards elsewhere.

Imports controlplane.shell only (the volume servers through the `EcServers` seam).
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from controlplane.shell.ec_placement import (
    TOTAL_SHARDS,
    EcServer,
    PlacementImpossible,
    place_shards,
    rebalance,
)
from controlplane.shell.ec_servers import EcCallFailed, EcServers
from controlplane.shell.env import ShellEnv
from controlplane.shell.errors import CommandFailed, CommandUsageError
from controlplane.shell.flags import Flags, FlagSet
from controlplane.shell.master_admin import ServerReport
from controlplane.shell.registry import Command

DATA_SHARDS = 10
# After acting, a command waits (at most this long) until the masters' view shows the result,
# so the next command of a script (ec.rebuild then ec.balance) plans from it: volume servers
# report changes on their next heartbeat, a moment later.
SETTLE_SECONDS = 10.0
SETTLE_POLL_SECONDS = 0.2
SHARDS_PER_VOLUME_SLOT = 10  # weed counts a free volume slot as room for 10 shards
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's duration syntax ("1h", "90m", "1h30m", "10s") in seconds; ValueError if malformed."""
    text = text.strip()
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match[1]) * _UNIT_SECONDS[match[2]]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"bad duration {text!r} (like 1h, 30m, 10s)")
    return total


def collection_matches(pattern: str, collection: str) -> bool:
    """weed's -collection: comma-separated names with * and ? wildcards; "_default" is ""."""
    if not pattern:
        return True
    for part in pattern.split(","):
        part = part.strip()
        if part == "_default" and collection == "":
            return True
        if fnmatch.fnmatchcase(collection, part):
            return True
    return False


def ec_servers(env: ShellEnv, command: str) -> EcServers:
    """The env's EC seam, made on first use (the real gRPC one unless a test put a fake there)."""
    if env.ec_servers is None:
        from controlplane.shell.ec_servers import GrpcEcServers  # grpc only when really used

        env.ec_servers = GrpcEcServers(command)
    return env.ec_servers


@dataclass(frozen=True, slots=True)
class EcVolumeView:
    """One EC volume as the topology shows it: its collection and each shard's holders."""

    volume_id: int
    collection: str
    holders: dict[int, list[ServerReport]]  # shard -> servers holding it (address order)

    def servers(self) -> list[ServerReport]:
        seen: dict[str, ServerReport] = {}
        for servers in self.holders.values():
            for s in servers:
                seen.setdefault(s.address, s)
        return [seen[a] for a in sorted(seen)]

    def shards_on(self, address: str) -> list[int]:
        return sorted(s for s, servers in self.holders.items() if any(x.address == address for x in servers))


def ec_volumes(servers: Iterable[ServerReport]) -> dict[int, EcVolumeView]:
    out: dict[int, EcVolumeView] = {}
    for server in sorted(servers, key=lambda s: s.address):
        for ec in server.ec_shards:
            view = out.setdefault(ec.volume_id, EcVolumeView(ec.volume_id, ec.collection, {}))
            for shard in ec.shard_ids:
                view.holders.setdefault(shard, []).append(server)
    return out


def free_shard_slots(server: ServerReport) -> int:
    """Room for more shards: free volume slots x 10, less the shards already held (weed's rule)."""
    held = sum(len(e.shard_ids) for e in server.ec_shards)
    return max(0, (server.max_volumes - len(server.volumes)) * SHARDS_PER_VOLUME_SLOT - held)


def placement_servers(servers: Iterable[ServerReport]) -> list[EcServer]:
    return [EcServer(s.address, s.data_center, s.rack, free_shard_slots(s)) for s in servers]


def _most_shards(view: EcVolumeView) -> ServerReport:
    """The holder with the most of the volume's shards (it borrows the fewest), then the most
    free slots."""
    return max(view.servers(), key=lambda s: (len(view.shards_on(s.address)), free_shard_slots(s), s.address))


def _shards_text(shards: Iterable[int]) -> str:
    return "[" + " ".join(str(s) for s in sorted(shards)) + "]"


async def _topology(env: ShellEnv) -> tuple[ServerReport, ...]:
    return await env.masters.call_read(lambda master: master.volume_topology())


async def _settle(env: ShellEnv, what: str, done: Callable[[tuple[ServerReport, ...]], bool]) -> None:
    """Wait until the topology satisfies `done` (the volume servers' reports of what was just
    done have reached the masters), at most SETTLE_SECONDS; say so if they have not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while not done(await _topology(env)):
        if loop.time() >= deadline:
            env.write(f"the masters do not show {what} yet; a later command may see the old layout")
            return
        await asyncio.sleep(SETTLE_POLL_SECONDS)


def _shard_count(servers: Iterable[ServerReport], vid: int) -> int:
    return len({s for server in servers for e in server.ec_shards if e.volume_id == vid for s in e.shard_ids})


def _has_volume(servers: Iterable[ServerReport], vid: int) -> bool:
    return any(v.volume_id == vid for server in servers for v in server.volumes)


async def _merge_journals(env: ShellEnv, servers: EcServers, view: EcVolumeView, target: ServerReport) -> int:
    """Journal on `target` every delete any holder journaled (a rebuild or decode there must
    not bring a deleted needle back because its own journal missed it)."""
    keys: set[int] = set()
    for server in view.servers():
        keys |= await servers.journal(server, view.volume_id)
    return await servers.journal_append(target, view.volume_id, keys) if keys else 0


class EcEncodeCommand(Command):
    name = "ec.encode"
    summary = "erasure-code sealed volumes into 10+4 shards spread across racks and servers"
    example = "ec.encode -collection=pics -fullPercent=95 -quietFor=1h"
    details = (
        "Selects volumes of -collection at least -fullPercent full and not written for -quietFor\n"
        "(or exactly -volumeId/-volumeIds), marks them read-only, encodes, spreads the 14 shards\n"
        "so one rack (or one server, with fewer than 4 racks) holds at most 4, and deletes the\n"
        "source replicas only after every shard is mounted. Acts at once, as weed 4.48's."
    )
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.string("collection", "", "collections to encode: names with * and ?, comma-separated")
        flags.integer("volumeId", 0, "encode exactly this volume", minimum=0)
        flags.integers("volumeIds", (), "encode exactly these volumes", minimum=1)
        flags.number("fullPercent", 95.0, "only volumes at least this full (percent of the size limit)")
        flags.string("quietFor", "1h", "only volumes not written for this long (1h, 30m, 10s)")
        flags.boolean("force", False, "accepted for older scripts; ec.encode acts without it")
        flags.integer("batchSize", 10, "accepted (weed's batching); encoded one by one", minimum=0)
        flags.boolean("verbose", False, "say why volumes were not selected")
        flags.string("diskType", "", "accepted: kelp places shards on any disk")
        flags.string("sourceDiskType", "", "only volumes on this disk type")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        try:
            quiet = parse_duration(flags.text("quietFor"))
        except ValueError as err:
            raise CommandUsageError(self.name, f"-quietFor: {err}") from None
        await env.confirm_locked(self.name)
        servers = await _topology(env)
        wanted = set(flags.integers("volumeIds")) | ({flags.integer("volumeId")} - {0})
        if wanted:
            vids = sorted(wanted)
        else:
            limit_mb = await env.masters.call_read(lambda master: master.volume_size_limit_mb())
            vids = self._select(env, servers, flags, limit_mb * 1024 * 1024, quiet)
        if not vids:
            env.write("no volumes to erasure code")
            return
        with env.progress_bar(len(vids), "volumes erasure coded") as bar:
            for vid in vids:
                await self.encode(env, await _topology(env), vid)
                bar.step()
        await _settle(env, "every encoded volume's 14 shards", lambda servers: all(
            _shard_count(servers, vid) == TOTAL_SHARDS and not _has_volume(servers, vid) for vid in vids))

    def _select(self, env: ShellEnv, servers: tuple[ServerReport, ...], flags: Flags, limit: int,
                quiet: float) -> list[int]:
        now = time.time()
        threshold = limit * flags.number("fullPercent") / 100.0
        chosen: set[int] = set()
        disk = flags.text("sourceDiskType")
        for server in servers:
            for v in server.volumes:
                if not collection_matches(flags.text("collection"), v.collection):
                    continue
                if disk and v.disk_type != disk:
                    continue
                if v.size < threshold or (v.modified_at_second and now - v.modified_at_second < quiet):
                    if flags.boolean("verbose"):
                        env.write(f"volume {v.volume_id}: size {v.size} (needs {int(threshold)}), "
                                  f"last write {int(now - v.modified_at_second)} s ago: not selected")
                    continue
                chosen.add(v.volume_id)
        return sorted(chosen)

    async def encode(self, env: ShellEnv, servers: tuple[ServerReport, ...], vid: int) -> None:
        replicas = sorted((s for s in servers if any(v.volume_id == vid for v in s.volumes)),
                          key=lambda s: s.address)
        if not replicas:
            if any(e.volume_id == vid for s in servers for e in s.ec_shards):
                raise CommandFailed(self.name, f"volume {vid} is erasure coded already")
            raise CommandFailed(self.name, f"volume {vid} not found")
        collection = next(v.collection for v in replicas[0].volumes if v.volume_id == vid)
        volumes = env.volumes(self.name)
        ec = ec_servers(env, self.name)
        await env.confirm_locked(self.name)  # before each volume: a lost lock stops the rest
        for replica in replicas:
            await volumes.mark_read_only(replica, vid, True)
        source = replicas[0]
        try:
            seconds = await ec.generate(source, vid, collection)
        except EcCallFailed as err:
            if err.code == "ABORTED":  # a generate is running there now
                reason = f"volume {vid}: another encoder got there first: {err.details}"
                raise CommandFailed(self.name, reason) from None
            if err.code != "ALREADY_EXISTS":
                raise
            # Shards of an encode that never finished (its source is still here, so it never
            # deleted it). This session holds the admin lock, so no encoder is running: drop
            # them everywhere and encode again.
            stale = [s for s in servers if any(e.volume_id == vid for e in s.ec_shards)]
            for server in {s.address: s for s in [source, *stale]}.values():
                await ec.delete_shards(server, vid, collection, range(TOTAL_SHARDS))
            env.write(f"volume {vid}: dropped the shards of an unfinished encode; encoding again")
            seconds = await ec.generate(source, vid, collection)
        env.write(f"volume {vid}: 14 shards generated on {source.address} in {seconds:.2f}s")
        try:
            plan = place_shards(placement_servers(servers))
        except PlacementImpossible as err:
            env.write(f"volume {vid}: {err}; keeping every shard on {source.address}")
            plan = {shard: source.address for shard in range(TOTAL_SHARDS)}
        by_address = {s.address: s for s in servers}
        targets: dict[str, list[int]] = {}
        for shard, address in sorted(plan.items()):
            targets.setdefault(address, []).append(shard)
        for address, shards in sorted(targets.items()):
            env.write(f"volume {vid}: shards {_shards_text(shards)} -> {address}")
        copied: list[ServerReport] = []
        try:
            for address, shards in sorted(targets.items()):
                if address == source.address:
                    continue
                target = by_address[address]
                copied.append(target)
                await ec.copy(target, source, vid, collection, shards, index_files=True)
                await ec.mount(target, vid, collection, shards)
            moved = [s for s in range(TOTAL_SHARDS) if plan[s] != source.address]
            if moved:
                await ec.delete_shards(source, vid, collection, moved)
            kept = targets.get(source.address, [])
            if kept:
                await ec.mount(source, vid, collection, kept)
        except CommandFailed:
            for server in [*copied, source]:  # the volume stays as it was; no shard is left behind
                try:
                    await ec.delete_shards(server, vid, collection, range(TOTAL_SHARDS))
                except CommandFailed as cleanup:
                    env.write(f"volume {vid}: could not remove new shards on {server.address}: {cleanup}")
            raise
        # Every shard is mounted where the plan puts it: only now may the source go (and only
        # while this session still holds the lock).
        await env.confirm_locked(self.name)
        for replica in replicas:
            await volumes.delete_volume(replica, vid)
        env.write(f"volume {vid}: erasure coded; source removed from "
                  + ", ".join(r.address for r in replicas))


class _PlanCommand(Command):
    """ec.rebuild / ec.balance: print the plan; act with -apply (weed 4.48) or -force (older)."""

    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.string("collection", "", "only EC volumes of these collections (EACH_COLLECTION or empty: all)")
        flags.boolean("apply", False, "act on the plan (otherwise only print it)")
        flags.boolean("force", False, "same as -apply (older weed)")
        flags.integer("maxParallelization", 10, "accepted; volumes are handled one by one", minimum=1)
        flags.string("diskType", "", "accepted: kelp places shards on any disk")

    @staticmethod
    def acting(flags: Flags) -> bool:
        return flags.boolean("apply") or flags.boolean("force")

    @staticmethod
    def selected(flags: Flags, view: EcVolumeView) -> bool:
        pattern = flags.text("collection")
        return pattern in ("", "EACH_COLLECTION") or collection_matches(pattern, view.collection)


class EcRebuildCommand(_PlanCommand):
    name = "ec.rebuild"
    summary = "rebuild missing EC shards of every EC volume with at least 10 shards left"
    example = "ec.rebuild -apply"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        act = self.acting(flags)
        if act:
            await env.confirm_locked(self.name)
        servers = await _topology(env)
        unrecoverable: list[str] = []
        todo: list[tuple[EcVolumeView, ServerReport]] = []
        for vid, view in sorted(ec_volumes(servers).items()):
            if not self.selected(flags, view):
                continue
            missing = [s for s in range(TOTAL_SHARDS) if s not in view.holders]
            if not missing:
                continue
            if len(view.holders) < DATA_SHARDS:
                unrecoverable.append(f"{vid} ({len(view.holders)} shards)")
                continue
            # The holder with the most shards borrows the fewest; free slots break ties.
            rebuilder = _most_shards(view)
            env.write(f"ec volume {vid}: missing shards {_shards_text(missing)}; "
                      f"rebuild on {rebuilder.address}")
            todo.append((view, rebuilder))
        if not todo and not unrecoverable:
            env.write("every ec volume has its 14 shards")
        elif not act:
            env.write("dry run: add -apply (or -force) to rebuild")
        elif todo:
            with env.progress_bar(len(todo), "ec volumes rebuilt") as bar:
                for view, rebuilder in todo:
                    await env.confirm_locked(self.name)
                    await self.rebuild(env, view, rebuilder)
                    bar.step()
            await _settle(env, "the rebuilt shards", lambda servers: all(
                _shard_count(servers, view.volume_id) == TOTAL_SHARDS for view, _ in todo))
            env.write(f"rebuilt {len(todo)} ec volumes; run ec.balance to spread the new shards")
        if unrecoverable:
            reason = "fewer than 10 shards left, cannot rebuild: " + ", ".join(unrecoverable)
            raise CommandFailed(self.name, reason)

    async def rebuild(self, env: ShellEnv, view: EcVolumeView, rebuilder: ServerReport) -> None:
        ec = ec_servers(env, self.name)
        vid = view.volume_id
        local = set(view.shards_on(rebuilder.address))
        borrowed: list[int] = []
        # Every existing shard it lacks (not just ten): the server rebuilds what it does not
        # hold, which must be exactly the shards missing everywhere.
        for shard, holders in sorted(view.holders.items()):
            if shard in local:
                continue
            await ec.copy(rebuilder, holders[0], vid, view.collection, [shard], index_files=False)
            borrowed.append(shard)
        await _merge_journals(env, ec, view, rebuilder)
        written = await ec.rebuild(rebuilder, vid, view.collection)
        if borrowed:
            await ec.delete_shards(rebuilder, vid, view.collection, borrowed)
        env.write(f"ec volume {vid}: rebuilt shards {_shards_text(written)} on {rebuilder.address}")


class EcBalanceCommand(_PlanCommand):
    name = "ec.balance"
    summary = "spread EC shards so losing one rack (or server) loses at most 4; drop duplicates"
    example = "ec.balance -apply"

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        act = self.acting(flags)
        if act:
            await env.confirm_locked(self.name)
        servers = await _topology(env)
        steps = self.plan(env, flags, servers)
        if not steps:
            env.write("ec shards are balanced")
            return
        if not act:
            env.write("dry run: add -apply (or -force) to act")
            return
        by_address = {s.address: s for s in servers}
        ec = ec_servers(env, self.name)
        with env.progress_bar(len(steps), "shard moves") as bar:
            for step in steps:
                await env.confirm_locked(self.name)
                source = by_address[step.source]
                if step.target is None:
                    await ec.delete_shards(source, step.volume_id, step.collection, [step.shard])
                else:
                    target = by_address[step.target]
                    await ec.copy(target, source, step.volume_id, step.collection, [step.shard],
                                  index_files=step.index_files)
                    await ec.mount(target, step.volume_id, step.collection, [step.shard])
                    await ec.delete_shards(source, step.volume_id, step.collection, [step.shard])
                bar.step()
        await _settle(env, "the moved shards", lambda servers: all(
            _holders(servers, step.volume_id, step.shard) == {step.target} for step in steps
            if step.target is not None))

    def plan(self, env: ShellEnv, flags: Flags, servers: tuple[ServerReport, ...]) -> list[_BalanceStep]:
        """Duplicates to delete and moves to make, each printed."""
        steps: list[_BalanceStep] = []
        for vid, view in sorted(ec_volumes(servers).items()):
            if not self.selected(flags, view):
                continue
            placement: dict[int, str] = {}
            for shard, holders in sorted(view.holders.items()):
                placement[shard] = holders[0].address
                for extra in holders[1:]:  # a duplicate (a rebuilt shard whose server came back)
                    env.write(f"ec volume {vid}: delete duplicate shard {shard} on {extra.address}")
                    steps.append(_BalanceStep(vid, view.collection, shard, extra.address, None, False))
            for move in rebalance(placement_servers(servers), placement):
                env.write(f"ec volume {vid}: move shard {move.shard} {move.source} -> {move.target}")
                # Index files only to a server holding nothing of the volume (never over a journal).
                first = move.target not in placement.values() and not any(
                    e.volume_id == vid for s in servers if s.address == move.target for e in s.ec_shards)
                steps.append(_BalanceStep(vid, view.collection, move.shard, move.source, move.target, first))
                placement[move.shard] = move.target
        return steps


def _holders(servers: Iterable[ServerReport], vid: int, shard: int) -> set[str]:
    return {server.address for server in servers for e in server.ec_shards
            if e.volume_id == vid and shard in e.shard_ids}


@dataclass(frozen=True, slots=True)
class _BalanceStep:
    """Delete `shard` on `source` (target None: a duplicate), or move it to `target`."""

    volume_id: int
    collection: str
    shard: int
    source: str
    target: str | None
    index_files: bool


class EcDecodeCommand(Command):
    name = "ec.decode"
    summary = "turn erasure-coded volumes back into normal volumes"
    example = "ec.decode -volumeId=7"
    mutating = True

    def declare(self, flags: FlagSet) -> None:
        flags.string("collection", "", "only EC volumes of these collections")
        flags.integer("volumeId", 0, "only this volume", minimum=0)
        flags.integer("batchSize", 10, "accepted; volumes are decoded one by one", minimum=0)
        flags.string("diskType", "", "accepted")
        flags.boolean("checkMinFreeSpace", True, "accepted")

    async def run(self, env: ShellEnv, flags: Flags) -> None:
        await env.confirm_locked(self.name)
        views = ec_volumes(await _topology(env))
        only = flags.integer("volumeId")
        if only and only not in views:
            raise CommandFailed(self.name, f"ec volume {only} not found")
        chosen = [v for vid, v in sorted(views.items())
                  if (not only or vid == only) and collection_matches(flags.text("collection"), v.collection)]
        if not chosen:
            env.write("no ec volumes to decode")
        with env.progress_bar(len(chosen), "ec volumes decoded") as bar:
            for view in chosen:
                await env.confirm_locked(self.name)
                await self.decode(env, view)
                bar.step()
        await _settle(env, "the decoded volumes", lambda servers: all(
            _has_volume(servers, view.volume_id) and not _shard_count(servers, view.volume_id)
            for view in chosen))

    async def decode(self, env: ShellEnv, view: EcVolumeView) -> None:
        vid = view.volume_id
        if len(view.holders) < DATA_SHARDS:
            raise CommandFailed(self.name, f"ec volume {vid}: only {len(view.holders)} shards left")
        ec = ec_servers(env, self.name)
        target = _most_shards(view)
        local = set(view.shards_on(target.address))
        # Data shards first: with all ten of them the decode is a plain copy, no reconstruction.
        for shard in sorted(view.holders, key=lambda s: (s >= DATA_SHARDS, s)):
            if len(local) >= DATA_SHARDS:
                break
            if shard not in local:
                source = view.holders[shard][0]
                await ec.copy(target, source, vid, view.collection, [shard], index_files=False)
                local.add(shard)
        await _merge_journals(env, ec, view, target)
        live = await ec.to_volume(target, vid, view.collection)
        for server in view.servers():
            if server.address != target.address:
                await ec.delete_shards(server, vid, view.collection, view.shards_on(server.address))
        env.write(f"ec volume {vid}: decoded into a normal volume on {target.address} ({live} live needles)")


COMMANDS: tuple[type[Command], ...] = (EcEncodeCommand, EcRebuildCommand, EcBalanceCommand, EcDecodeCommand)
