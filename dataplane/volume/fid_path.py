"""The file id in a volume-server URL path, in each shape SeaweedFS accepts:

    /3,01637037d6          plain
    /3,01637037d6.jpg      extension ignored for lookup
    /3/01637037d6[.jpg]    vid and fid as separate segments
    /3/01637037d6/a.txt    third segment = download file name
    /foo/3,01637037d6      vid "foo": invalid

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataplane.volume.engine.errors import InvalidFileId
from dataplane.volume.engine.types import parse_key_cookie, parse_volume_id


@dataclass(frozen=True, slots=True)
class FidPath:
    volume_id: int
    key: int
    cookie: int
    vid_text: str
    fid_text: str  # key+cookie hex as written, `_N` suffix included, extension removed
    filename: str  # third path segment, "" if none
    ext: str  # ".jpg" from the fid segment or the file name, "" if none

    @property
    def jwt_fid(self) -> str:
        """What a JWT's `fid` claim must equal: `vid,keycookie` without the `_N` suffix."""
        fid = self.fid_text
        under = fid.rfind("_")
        if under > 0:
            fid = fid[:under]
        return f"{self.vid_text},{fid}"


def split_fid_path(path: str) -> tuple[str, str, str, str]:
    """(vid, fid, filename, ext) as text; vid and fid are "" when the path names no file."""
    slashes = path.count("/")
    if slashes == 2:
        _, vid, fid = path.split("/")
        dot = fid.rfind(".")
        if dot > 0:
            return vid, fid[:dot], "", fid[dot:]
        return vid, fid, "", ""
    if slashes == 3:
        _, vid, fid, filename = path.split("/")
        dot = filename.rfind(".")
        return vid, fid, filename, filename[dot:] if dot >= 0 else ""
    last = path[path.rfind("/") + 1 :]
    comma = last.rfind(",")
    if comma <= 0:
        return last, "", "", ""
    dot = last.rfind(".")
    if dot > comma:
        return last[:comma], last[comma + 1 : dot], "", last[dot:]
    return last[:comma], last[comma + 1 :], "", ""


def parse_fid_path(path: str) -> FidPath:
    """Raises InvalidFileId for anything that does not name a needle."""
    vid_text, fid_text, filename, ext = split_fid_path(path)
    if not fid_text:
        raise InvalidFileId(path, "no file id in path")
    volume_id = parse_volume_id(vid_text, path)
    key, cookie = parse_key_cookie(fid_text, path)
    return FidPath(volume_id, key, cookie, vid_text, fid_text, filename, ext)
