"""filer.conf: per-path storage rules, kept in the filer itself at /etc/seaweedfs/filer.conf.

Facts carried over from SeaweedFS (filer.conf, `weed shell fs.configure`, the filer's write paths):
- the file is the protobuf JSON form of `filer_pb.FilerConf` (`{"version":1,"locations":[{
  "locationPrefix":"/a/","collection":...}]}`), written inline in the entry's `content`;
- every rule whose location_prefix is a string prefix of the path applies, shorter prefixes first,
  each longer one overriding the strings and counts it sets, the flags (fsync, read_only,
  disable_chunk_deletion) OR-ed, so a nested rule cannot lift a lock;
- an upload's storage is the request's value, else the rule's, else the filer's default (ttl:
  the request's, else the rule's); gRPC AssignVolume does the same with its `path`, CreateEntry
  gives an entry without a TTL the rule's;
- a read_only rule refuses writes under it: HTTP 507 `{"error":"read only: <prefix> (e.g. bucket
  over quota)"}`, and with `X-Seaweedfs-Destination` also when only the URL path is read-only;
- max_file_name_length bounds the last name of a written path (HTTP 414).

Implemented: collection, replication, ttl, disk_type, fsync, data_center, rack, data_node,
volume_growth_count (the assign's writableVolumeCount), read_only, max_file_name_length.
Not implemented (parsed, kept and printed, but without effect): disable_chunk_deletion and the
worm settings.

`PathRules` is the rule set (pure, swapped whole on reload). `RulesReloader` keeps it current:
the core's event listener reloads at once from a commit of this filer that touches the file (its
inline content is in the event), and a poll (one indexed lookup every POLL_SECONDS) picks up
changes another filer on the same database made.

Imports kelp_pb, the filer's chunks/errors/paths and the engine's Ttl; the core only under
TYPE_CHECKING. No transport, no SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from google.protobuf import json_format
from kelp_pb import weed_filer_pb2 as filer_pb

from controlplane.filer import paths
from controlplane.filer.chunks import AssignSpec, VolumeIO, read_range
from controlplane.filer.errors import FilerError, NameTooLong
from dataplane.volume.engine.errors import InvalidTtl
from dataplane.volume.engine.types import Ttl

if TYPE_CHECKING:
    from controlplane.filer.core import FilerCore

log = logging.getLogger(__name__)

CONF_DIRECTORY = "/etc/seaweedfs"
CONF_NAME = "filer.conf"
CONF_PATH = f"{CONF_DIRECTORY}/{CONF_NAME}"
CONF_VERSION = 1  # what SeaweedFS stamps on the configurations it writes
POLL_SECONDS = 2.0  # how soon a change made through another filer applies here

PathConf: TypeAlias = filer_pb.FilerConf.PathConf  # the message class


class PathReadOnly(FilerError):
    """A write under a read_only rule (HTTP 507)."""

    def __init__(self, path: str, prefix: str) -> None:
        super().__init__(f"read only: {prefix or path} (e.g. bucket over quota)")
        self.path = path
        self.prefix = prefix


class InvalidFilerConf(FilerError, ValueError):
    """filer.conf content that is not a FilerConf in protobuf JSON."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"parse {CONF_PATH}: {reason}")
        self.reason = reason


def parse(data: bytes | str) -> filer_pb.FilerConf:
    """A FilerConf from its JSON (empty: no rules). Unknown fields are ignored (newer writers)."""
    conf = filer_pb.FilerConf()
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if not text.strip():
        return conf
    try:
        json_format.Parse(text, conf, ignore_unknown_fields=True)
    except json_format.ParseError as err:
        raise InvalidFilerConf(str(err)) from err
    return conf


def to_text(conf: filer_pb.FilerConf) -> str:
    """The JSON SeaweedFS writes (every field shown, two-space indent), version stamped."""
    out = filer_pb.FilerConf()
    out.CopyFrom(conf)
    out.version = CONF_VERSION
    return json_format.MessageToJson(out, always_print_fields_with_no_presence=True, indent=2)


def merge(into: PathConf, rule: PathConf) -> None:
    """Lay `rule` over `into`: set strings and counts win, flags OR, worm by presence."""
    for name in ("collection", "replication", "ttl", "disk_type", "data_center", "rack", "data_node"):
        if getattr(rule, name):
            setattr(into, name, getattr(rule, name))
    for name in ("volume_growth_count", "max_file_name_length", "worm_retention_time_seconds",
                 "worm_grace_period_seconds"):
        if getattr(rule, name) > 0:
            setattr(into, name, getattr(rule, name))
    into.fsync = into.fsync or rule.fsync
    into.read_only = into.read_only or rule.read_only
    into.disable_chunk_deletion = into.disable_chunk_deletion or rule.disable_chunk_deletion
    if rule.HasField("worm"):
        into.worm = rule.worm


def ttl_seconds(text: str) -> int:
    """A rule's ttl ("7d") in seconds; a bad one counts as none, as SeaweedFS logs and goes on."""
    try:
        return Ttl.parse(text).seconds if text else 0
    except InvalidTtl:
        log.warning("filer.conf: ignoring bad ttl %r", text)
        return 0


class PathRules:
    """The rules of one filer.conf: match a path, refuse writes, derive an assign's storage."""

    def __init__(
        self, conf: filer_pb.FilerConf | None = None, *, max_name_bytes: int = paths.MAX_NAME_BYTES
    ) -> None:
        self.max_name_bytes = max_name_bytes  # the filer's own limit (-maxFilenameLength)
        self._rules: tuple[PathConf, ...] = ()
        self.load(conf or filer_pb.FilerConf())

    def load(self, conf: filer_pb.FilerConf) -> None:
        """Swap in a new rule set (one assignment: readers see the old or the new one)."""
        by_prefix: dict[str, PathConf] = {}
        for location in conf.locations:  # a repeated prefix: the later rule stands, as in SeaweedFS
            rule = PathConf()
            rule.CopyFrom(location)
            by_prefix[rule.location_prefix] = rule
        self._rules = tuple(sorted(by_prefix.values(), key=lambda r: len(r.location_prefix)))

    def conf(self) -> filer_pb.FilerConf:
        out = filer_pb.FilerConf(version=CONF_VERSION)
        out.locations.extend(sorted(self._rules, key=lambda r: r.location_prefix))
        return out

    def match(self, path: str) -> PathConf:
        """The merged rule for `path` (empty when none applies). location_prefix is the one
        matching rule's prefix, or "" when several merged."""
        found = [r for r in self._rules if path.startswith(r.location_prefix)]
        merged = PathConf()
        for rule in found:  # shortest prefix first: longer ones override
            merge(merged, rule)
        if len(found) == 1:
            merged.location_prefix = found[0].location_prefix
        return merged

    def check_write(self, path: str, destination: str = "") -> PathConf:
        """The rule for a write to `path` whose storage follows `destination` (the
        X-Seaweedfs-Destination header; "" = path). Raises PathReadOnly or NameTooLong."""
        if destination and self.match(path).read_only:
            raise PathReadOnly(path, path)
        rule = self.match(destination or path)
        if rule.read_only:
            raise PathReadOnly(path, rule.location_prefix)
        limit = rule.max_file_name_length or self.max_name_bytes
        name = paths.split(path)[1] if path != paths.ROOT else ""
        size = len(name.encode("utf-8", "surrogatepass"))
        if limit and size > limit:
            raise NameTooLong(path, size, limit)
        return rule

    def storage(
        self, rule: PathConf, requested: AssignSpec, defaults: AssignSpec | None = None
    ) -> AssignSpec:
        """An assign's storage: the request's value, else the rule's, else the filer default's."""
        d = defaults or AssignSpec()
        return dataclasses.replace(
            requested,
            collection=requested.collection or rule.collection or d.collection,
            replication=requested.replication or rule.replication or d.replication,
            ttl_sec=requested.ttl_sec or ttl_seconds(rule.ttl) or d.ttl_sec,
            disk_type=requested.disk_type or rule.disk_type or d.disk_type,
            data_center=requested.data_center or rule.data_center or d.data_center,
            rack=requested.rack or rule.rack or d.rack,
            data_node=requested.data_node or rule.data_node or d.data_node,
            fsync=requested.fsync or rule.fsync or d.fsync,
            volume_growth_count=requested.volume_growth_count or rule.volume_growth_count,
        )

    def defaults(self, path: str, defaults: AssignSpec) -> AssignSpec:
        """The filer's defaults with `path`'s rule laid over them (an HTTP upload's query values
        then override these)."""
        return self.storage(self.match(path), AssignSpec(), defaults)

    def check_entry(self, directory: str, entry: filer_pb.Entry) -> None:
        """A gRPC CreateEntry: refuse it under a read_only rule or over the name limit; a file
        without a TTL takes its rule's."""
        rule = self.check_write(paths.join(directory, entry.name)) if entry.name else self.match(directory)
        if not entry.attributes.ttl_sec and not entry.is_directory and rule.ttl:
            entry.attributes.ttl_sec = ttl_seconds(rule.ttl)


def with_location(conf: filer_pb.FilerConf, rule: PathConf) -> filer_pb.FilerConf:
    """`conf` with `rule` merged into the rule of the same prefix (added if there is none), as
    fs.configure does."""
    out = filer_pb.FilerConf()
    out.CopyFrom(conf)
    for location in out.locations:
        if location.location_prefix == rule.location_prefix:
            merge(location, rule)
            return out
    out.locations.add().CopyFrom(rule)
    return out


def without_location(conf: filer_pb.FilerConf, prefix: str) -> filer_pb.FilerConf:
    out = filer_pb.FilerConf()
    out.CopyFrom(conf)
    kept = [loc for loc in out.locations if loc.location_prefix != prefix]
    del out.locations[:]
    out.locations.extend(kept)
    return out


def touches_conf(events: Sequence[filer_pb.SubscribeMetadataResponse]) -> bool:
    """Whether any event creates, changes, moves or deletes filer.conf (or a directory above it)."""
    for event in events:
        note = event.event_notification
        places = []
        if note.HasField("old_entry"):
            places.append(paths.join(event.directory, note.old_entry.name) if note.old_entry.name else "/")
        if note.HasField("new_entry"):
            places.append(paths.join(note.new_parent_path or event.directory, note.new_entry.name))
        if any(place == CONF_PATH or paths.is_within(CONF_PATH, place) for place in places):
            return True
    return False


class RulesReloader:
    """Keeps `core.path_rules` equal to what /etc/seaweedfs/filer.conf holds."""

    def __init__(
        self, core: FilerCore, volumes: VolumeIO | None, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self._core = core
        self._volumes = volumes
        self._poll_seconds = poll_seconds
        self._seen = b""  # digest of the entry last loaded (b"": none there, no rules)
        self._wake = asyncio.Event()

    def attach(self) -> RulesReloader:
        self._core.event_listeners.append(self.on_events)
        return self

    def on_events(self, events: Sequence[filer_pb.SubscribeMetadataResponse]) -> None:
        """A local commit: when it touched filer.conf, load its inline content before the
        writer's reply goes out; otherwise (chunks, a move) wake run() to read it."""
        if not touches_conf(events):
            return
        content: bytes | None = None  # what the file holds after these events; None: not known here
        for event in events:
            note = event.event_notification
            old_path = new_path = ""
            if note.HasField("old_entry"):
                old_path = paths.join(event.directory, note.old_entry.name) if note.old_entry.name else "/"
            if note.HasField("new_entry"):
                new_path = paths.join(note.new_parent_path or event.directory, note.new_entry.name)
            if new_path == CONF_PATH:
                content = bytes(note.new_entry.content) if note.new_entry.content else None
            elif old_path and paths.is_within(CONF_PATH, old_path) and new_path != old_path:
                content = b""  # deleted or moved away, itself or a directory above it
        if content is not None:
            with contextlib.suppress(InvalidFilerConf):
                self._core.path_rules.load(parse(content))
        self._wake.set()

    async def reload(self) -> bool:
        """Read filer.conf and load it if it changed; True when the rules were replaced. A file
        that does not parse keeps the rules in force (logged)."""
        entry = await self._core.find(CONF_PATH)
        blob = b"" if entry is None else entry.SerializeToString(deterministic=True)
        digest = blob and hashlib.sha256(blob).digest()
        if digest == self._seen:
            return False
        if entry is None:
            conf = filer_pb.FilerConf()
        else:
            data = bytes(entry.content)
            if not data and entry.chunks:
                if self._volumes is None:
                    return False
                data = await read_range(self._volumes, entry.chunks, 0, entry.attributes.file_size)
            try:
                conf = parse(data)
            except InvalidFilerConf as err:
                log.warning("filer.conf not loaded, keeping the rules in force: %s", err)
                self._seen = digest
                return False
        self._core.path_rules.load(conf)
        self._seen = digest
        log.info("filer.conf loaded rules=%d", len(conf.locations))
        return True

    async def run(self) -> None:
        while True:
            try:
                await self.reload()
            except Exception as err:  # a store or volume hiccup: the next round tries again
                log.warning("filer.conf reload failed error=%s", err)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
