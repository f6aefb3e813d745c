"""The erasure-coded volumes one server holds, and its half of ec.encode/rebuild/balance/decode.

`EcMounts` keeps an `ec.EcVolume` per volume id whose `.ecx` sits in one of the server's
directories (its shards may be spread over several). `generate` writes the EC files next to a
read-only volume and keeps the volume (the shell deletes it once the shards are spread and
mounted; one generate per volume at a time, a second is refused; ec.encode_volume renames shards
into place only when all are whole), `mount_shards`/`unmount_shards`/`delete_shards` manage what
this server holds, `receive_path` names where copied-in files go, `rebuild` writes missing shards
from ten or more local ones, `to_volume` decodes back to `.dat`/`.idx`. A `.vif` is shared by a
volume and its EC volume (one file name): `volume_deleted` restores the EC one after the source
volume's files are removed.

Storage engine: file I/O only, no network; the server calls it from a worker thread.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Iterable, Sequence

from dataplane.volume.engine.ec.decoder import DecodeResult, decode_volume
from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.ec.encoder import EncodeResult, encode_volume
from dataplane.volume.engine.ec.errors import EcError
from dataplane.volume.engine.ec.geometry import TOTAL_SHARDS, shard_ext
from dataplane.volume.engine.ec.rebuild import RebuildResult, rebuild_shards
from dataplane.volume.engine.ec.shard_files import find_file, find_shards
from dataplane.volume.engine.errors import VolumeReadOnly
from dataplane.volume.engine.files import fsync_dir, unlink_if_exists
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.volume import Volume, volume_base_name
from dataplane.volume.engine.volume_info import VolumeInfo, write_volume_info

log = logging.getLogger(__name__)

_ECX_NAME = re.compile(r"^(?:(?P<collection>.+)_)?(?P<vid>\d+)\.ecx$")


class NotReadOnly(VolumeReadOnly):
    """Only a sealed (read-only) volume is erasure coded: writes must have stopped."""

    def __init__(self, volume_id: int) -> None:
        Exception.__init__(self, f"volume {volume_id} must be read-only before it is erasure coded "
                                 "(volume.mark -readonly)")
        self.volume_id = volume_id


class EncodeInProgress(EcError):
    """Another generate of this volume is running on this server."""

    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume {volume_id} is being erasure coded already")
        self.volume_id = volume_id


class AlreadyEncoded(EcError):
    """This server already generated (or holds) the volume's EC files."""

    def __init__(self, volume_id: int) -> None:
        super().__init__(f"volume {volume_id} is erasure coded already on this server")
        self.volume_id = volume_id


class ShardsMissing(EcError):
    """Shard files asked for are not on this server."""

    def __init__(self, volume_id: int, shards: tuple[int, ...]) -> None:
        super().__init__(f"ec volume {volume_id}: shards {list(shards)} are not on this server")
        self.volume_id = volume_id
        self.shards = shards


class EcMounts:
    def __init__(self, directories: Sequence[str], fmt: IdxFormat) -> None:
        self.directories = tuple(directories)
        self.fmt = fmt
        self._volumes: dict[int, EcVolume] = {}
        self._lock = threading.Lock()
        self._encoding: set[int] = set()  # generates running
        self._generated: set[int] = set()  # generated here and not deleted since
        self._source_vif: dict[int, bytes] = {}  # a source volume's .vif before generate wrote the EC one

    def load(self, skip: set[int]) -> None:
        """Mount every EC volume found (not those in `skip`: a `.dat` still there wins, the EC
        files are then the leftovers of an encode that did not finish)."""
        for directory in self.directories:
            for name in sorted(os.listdir(directory)):
                match = _ECX_NAME.match(name)
                if match is None or int(match["vid"]) in skip:
                    continue
                try:
                    self.mount(int(match["vid"]), match["collection"] or "")
                except Exception as err:  # one bad EC volume must not keep the server down
                    log.error("cannot mount ec volume %s in %s: %s", name, directory, err)

    def mount(self, volume_id: int, collection: str) -> EcVolume:
        ec = EcVolume(volume_id, collection, self.directories, fmt=self.fmt)
        with self._lock:
            self._volumes[volume_id] = ec
        log.info("mounted ec volume vid=%d collection=%s", volume_id, collection)
        return ec

    def get(self, volume_id: int) -> EcVolume | None:
        return self._volumes.get(volume_id)

    def ids(self) -> list[int]:
        return sorted(self._volumes)

    def generate(self, volume: Volume) -> EncodeResult:
        """Write the EC files of a read-only volume next to it; the volume stays. Raises
        NotReadOnly, EncodeInProgress (one is running), AlreadyEncoded (done here before)."""
        if not volume.read_only:
            raise NotReadOnly(volume.id)
        with self._lock:
            if volume.id in self._encoding:
                raise EncodeInProgress(volume.id)
            if volume.id in self._generated or volume.id in self._volumes:
                raise AlreadyEncoded(volume.id)
            self._encoding.add(volume.id)
        try:
            vif = volume.base + ".vif"
            with open(vif, "rb") as f:
                self._source_vif[volume.id] = f.read()
            result = encode_volume(volume.base, fmt=self.fmt)
            with self._lock:
                self._generated.add(volume.id)
            return result
        finally:
            with self._lock:
                self._encoding.discard(volume.id)

    def base_name(self, volume_id: int, collection: str) -> str:
        return volume_base_name(collection, volume_id)

    def file_path(self, volume_id: int, collection: str, ext: str) -> str | None:
        """Path of one EC file of the volume here (".ec03", ".ecx", ".ecj", ".vif"), or None."""
        return find_file(self.directories, self.base_name(volume_id, collection), ext)

    def receive_directory(self, volume_id: int, collection: str) -> str:
        """Where copied-in EC files go: the directory holding the .ecx, else the emptiest one."""
        ecx = self.file_path(volume_id, collection, ".ecx")
        if ecx is not None:
            return os.path.dirname(ecx)
        return max(self.directories, key=lambda d: shutil.disk_usage(d).free)

    def mount_shards(self, volume_id: int, collection: str, shards: Iterable[int]) -> tuple[int, ...]:
        """Mount the volume's shard files found here (opening the EC volume if needed); the ids
        held after. ShardsMissing if a shard asked for has no file here."""
        wanted = tuple(sorted(set(shards)))
        present = find_shards(self.directories, self.base_name(volume_id, collection), TOTAL_SHARDS)
        missing = tuple(s for s in wanted if s not in present)
        if missing:
            raise ShardsMissing(volume_id, missing)
        ec = self.get(volume_id)
        if ec is None:
            return self.mount(volume_id, collection).shard_ids
        return ec.rescan()

    def unmount_shards(self, volume_id: int, shards: Iterable[int]) -> tuple[int, ...]:
        """Stop serving those shards (files stay); with none left the EC volume is closed."""
        ec = self.get(volume_id)
        if ec is None:
            return ()
        for shard in shards:
            ec.remove_shard(shard)
        left = ec.shard_ids
        if not left:
            with self._lock:
                self._volumes.pop(volume_id, None)
            ec.close()
        return left

    def delete_shards(self, volume_id: int, collection: str, shards: Iterable[int],
                      source_exists: bool = False) -> None:
        """Unmount and delete shard files; when no shard file is left here, the .ecx/.ecj go
        too, and the .vif unless the source volume still lives here (then its own .vif is put
        back: a failed encode leaves the volume as it was)."""
        shards = sorted(set(shards))
        self.unmount_shards(volume_id, shards)
        name = self.base_name(volume_id, collection)
        for shard in shards:
            for directory in self.directories:
                unlink_if_exists(os.path.join(directory, name + shard_ext(shard)))
        if find_shards(self.directories, name, TOTAL_SHARDS):
            return
        self.unmount_shards(volume_id, range(TOTAL_SHARDS))
        with self._lock:
            self._generated.discard(volume_id)
            source_vif = self._source_vif.pop(volume_id, None)
        for directory in self.directories:
            for ext in (".ecx", ".ecj"):
                unlink_if_exists(os.path.join(directory, name + ext))
            vif = os.path.join(directory, name + ".vif")
            if not source_exists:
                unlink_if_exists(vif)
            elif source_vif is not None and os.path.exists(vif):
                with open(vif, "wb") as f:
                    f.write(source_vif)
            fsync_dir(directory)

    def volume_deleted(self, volume_id: int) -> None:
        """The normal volume of this id was deleted here (with its .vif): an EC volume mounted
        here needs that file, so write its EC .vif back."""
        with self._lock:
            self._source_vif.pop(volume_id, None)
        ec = self.get(volume_id)
        if ec is not None and ec.info is not None and not os.path.exists(ec.index_base + ".vif"):
            write_volume_info(ec.index_base + ".vif", ec.info)

    def rebuild(self, volume_id: int, collection: str) -> RebuildResult:
        """Write every shard missing here from the ten or more held here, into the directory of
        the .ecx (shards may sit in several directories); mount them."""
        name = self.base_name(volume_id, collection)
        result = rebuild_shards(name, self.directories, out_dir=self.receive_directory(volume_id, collection),
                                volume_id=volume_id)
        if result.rebuilt:
            self.mount_shards(volume_id, collection, result.rebuilt)
        return result

    def to_volume(self, volume_id: int, collection: str) -> DecodeResult:
        """Decode the EC volume held here into `.dat`/`.idx` (next to the .ecx), give it a plain
        `.vif`, and remove this server's EC files. The caller opens the volume after."""
        name = self.base_name(volume_id, collection)
        ec = self.get(volume_id)
        version = ec.version() if ec is not None else 3
        expire = ec.info.expire_at_sec if ec is not None and ec.info is not None else 0
        self.unmount_shards(volume_id, range(TOTAL_SHARDS))
        result = decode_volume(name, self.directories, fmt=self.fmt, volume_id=volume_id)
        directory = os.path.dirname(result.dat_path)
        plain = VolumeInfo(version=version, bytes_offset=self.fmt.offset_bytes, expire_at_sec=expire)
        write_volume_info(os.path.join(directory, name + ".vif"), plain)
        for shard in range(TOTAL_SHARDS):
            for d in self.directories:
                unlink_if_exists(os.path.join(d, name + shard_ext(shard)))
        for d in self.directories:
            for ext in (".ecx", ".ecj"):
                unlink_if_exists(os.path.join(d, name + ext))
            if d != directory:
                unlink_if_exists(os.path.join(d, name + ".vif"))
        with self._lock:
            self._generated.discard(volume_id)
        return result

    def shard_report(self) -> list[tuple[int, str, int]]:
        """(volume id, collection, shard bits) of every mounted EC volume, for heartbeats."""
        with self._lock:
            volumes = list(self._volumes.values())
        out = []
        for ec in sorted(volumes, key=lambda v: v.id):
            bits = 0
            for shard in ec.shard_ids:
                bits |= 1 << shard
            if bits:
                out.append((ec.id, ec.collection, bits))
        return out
