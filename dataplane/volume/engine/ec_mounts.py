"""The erasure-coded volumes one server holds, and turning a sealed volume into one.

`EcMounts` keeps an `ec.EcVolume` per volume id whose `.ecx` sits in one of the server's
directories (its shards may be spread over several). `encode_in_place` is the volume server's
half of `ec.encode`: the volume must be read-only; its 14 shards, `.ecx` and `.vif` are written
(ec.encode_volume renames shards into place only when all are whole), and only then is the
source's `.dat`/`.idx` removed and the EC volume mounted, so a failed or killed encode leaves
the volume as it was. (The `.vif` now holds the EC config; it stays.)

Storage engine: file I/O only, no network; the server calls it from a worker thread.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Sequence

from dataplane.volume.engine.ec.ec_volume import EcVolume
from dataplane.volume.engine.ec.encoder import EncodeResult, encode_volume
from dataplane.volume.engine.errors import VolumeReadOnly
from dataplane.volume.engine.files import unlink_if_exists
from dataplane.volume.engine.idx import IdxFormat
from dataplane.volume.engine.volume import Volume

log = logging.getLogger(__name__)

_ECX_NAME = re.compile(r"^(?:(?P<collection>.+)_)?(?P<vid>\d+)\.ecx$")


class NotReadOnly(VolumeReadOnly):
    """Only a sealed (read-only) volume is erasure coded: writes must have stopped."""

    def __init__(self, volume_id: int) -> None:
        Exception.__init__(self, f"volume {volume_id} must be read-only before it is erasure coded "
                                 "(volume.mark -readonly)")
        self.volume_id = volume_id


class EcMounts:
    def __init__(self, directories: Sequence[str], fmt: IdxFormat) -> None:
        self.directories = tuple(directories)
        self.fmt = fmt
        self._volumes: dict[int, EcVolume] = {}
        self._lock = threading.Lock()

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

    def encode_in_place(self, volume: Volume) -> EncodeResult:
        """Shards from a read-only volume, then the source's data files go and the EC volume is
        mounted (see the module doc). The caller has taken the volume out of its table."""
        if not volume.read_only:
            raise NotReadOnly(volume.id)
        result = encode_volume(volume.base, fmt=self.fmt)
        volume.close()
        for ext in (".dat", ".idx", ".cpd", ".cpx", ".note"):
            unlink_if_exists(volume.base + ext)
        shutil.rmtree(volume.base + ".ldb", ignore_errors=True)
        self.mount(volume.id, volume.collection)
        return result
