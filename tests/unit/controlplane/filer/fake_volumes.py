"""An in-memory VolumeIO (chunks.py's seam): assign hands out fids, upload/fetch/delete act on a dict."""

from __future__ import annotations

import gzip
import itertools

from controlplane.filer.chunks import Assignment, AssignSpec, VolumeLocation
from controlplane.filer.errors import ChunkReadFailed, ChunkWriteFailed


class FakeVolumes:
    """Missing needles fetch as ChunkReadFailed(missing=True), as a 404 from every replica does."""

    def __init__(self) -> None:
        self.needles: dict[str, bytes] = {}  # fid -> plain bytes
        self.gzipped: set[str] = set()
        self.deleted: list[str] = []
        self.fail_uploads_after: int | None = None  # fail every upload once this many succeeded
        self.unreachable = False
        self._keys = itertools.count(1)

    async def assign(self, spec: AssignSpec, count: int = 1) -> Assignment:
        key = next(self._keys)
        return Assignment(fid=f"7,{key:02x}12345678", url="127.0.0.1:1", public_url="127.0.0.1:1")

    async def upload(
        self, assignment: Assignment, data: bytes, *, name: str, gzipped: bool, md5: bytes
    ) -> None:
        if self.fail_uploads_after is not None and len(self.needles) >= self.fail_uploads_after:
            raise ChunkWriteFailed("", "volume server said no")
        if gzipped:
            data = gzip.decompress(data)
            self.gzipped.add(assignment.fid)
        self.needles[assignment.fid] = data

    async def fetch(self, fid: str) -> bytes:
        if fid not in self.needles:
            raise ChunkReadFailed(fid, "404", missing=True)
        return self.needles[fid]

    async def fetch_pieces(self, fid: str) -> list[bytes]:
        data = await self.fetch(fid)  # in two pieces, so readers are tested on pieces
        return [data[: len(data) // 2], data[len(data) // 2 :]]

    async def delete(self, fid: str) -> None:
        if self.unreachable:
            raise ConnectionError("volume server down")
        self.needles.pop(fid, None)
        self.deleted.append(fid)

    async def locations(self, volume_id: int) -> list[VolumeLocation]:
        return [VolumeLocation("127.0.0.1:1", "127.0.0.1:1")]
