"""URL paths to file ids: every shape SeaweedFS accepts, the `_N` delta, and the JWT claim."""

from __future__ import annotations

import pytest

from dataplane.volume.engine.errors import InvalidFileId
from dataplane.volume.fid_path import parse_fid_path


@pytest.mark.parametrize(
    ("path", "key", "filename", "ext"),
    [
        ("/3,01637037d6", 1, "", ""),
        ("/3,01637037d6.jpg", 1, "", ".jpg"),
        ("/3/01637037d6", 1, "", ""),
        ("/3/01637037d6.png", 1, "", ".png"),
        ("/3/01637037d6/any-name.txt", 1, "any-name.txt", ".txt"),
        ("/3,000dbddf0918", 0x0D, "", ""),
        ("/3,0DBDDF0918", 0x0D, "", ""),
        ("/3,01637037d6_2", 3, "", ""),
    ],
)
def test_accepted_shapes(path: str, key: int, filename: str, ext: str) -> None:
    target = parse_fid_path(path)
    assert (target.volume_id, target.key, target.filename, target.ext) == (3, key, filename, ext)


def test_cookie_and_jwt_claim() -> None:
    target = parse_fid_path("/3,01637037d6_2.jpg")
    assert target.cookie == 0x637037D6
    assert target.jwt_fid == "3,01637037d6"


@pytest.mark.parametrize(
    "path", ["/foo/3,01637037d6", "/3,0163", "/3", "/", "/3,01637037d6_x", "/-3,01637037d6", "/3,xx637037d6"]
)
def test_refused(path: str) -> None:
    with pytest.raises(InvalidFileId):
        parse_fid_path(path)
