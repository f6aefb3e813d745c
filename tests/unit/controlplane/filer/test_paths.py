"""Filer path normal form: what is accepted, what is refused and why."""

from __future__ import annotations

import pytest

from controlplane.filer import paths
from controlplane.filer.errors import InvalidPath, NameTooLong


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("/", "/"),
        ("//", "/"),
        ("/a", "/a"),
        ("/a/", "/a"),
        ("/a//b/./c/", "/a/b/c"),
        ("/ü/名前", "/ü/名前"),
        ("/a b/c%d", "/a b/c%d"),
    ],
)
def test_normal_form(given: str, normal: str) -> None:
    assert paths.normalize(given) == normal


@pytest.mark.parametrize("bad", ["/a/../b", "/..", "/a/..", "/../etc/passwd"])
def test_dot_dot_is_refused(bad: str) -> None:
    with pytest.raises(InvalidPath, match=r"'\.\.' is not allowed"):
        paths.normalize(bad)


def test_nul_is_refused_and_shown_escaped() -> None:
    with pytest.raises(InvalidPath) as caught:
        paths.normalize("/a\x00b")
    assert "\\x00" in str(caught.value)
    assert "NUL" in caught.value.reason


def test_relative_is_refused() -> None:
    with pytest.raises(InvalidPath, match="not an absolute path"):
        paths.normalize("a/b")


def test_name_limit_is_in_utf8_bytes() -> None:
    assert paths.normalize("/" + "a" * 255) == "/" + "a" * 255
    with pytest.raises(NameTooLong) as caught:
        paths.normalize("/" + "é" * 128)  # 256 bytes
    assert caught.value.length == 256 and caught.value.limit == 255


def test_whole_path_limit() -> None:
    long_path = "/" + "/".join(["x" * 200] * 21)  # 4221 bytes, every name fine
    with pytest.raises(NameTooLong) as caught:
        paths.normalize(long_path)
    assert caught.value.limit == paths.MAX_PATH_BYTES


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\x00"])
def test_check_name_refuses(bad: str) -> None:
    with pytest.raises(InvalidPath):
        paths.check_name(bad)


def test_split_join_ancestors() -> None:
    assert paths.split("/") == ("/", "")
    assert paths.split("/a") == ("/", "a")
    assert paths.split("/a/b/c") == ("/a/b", "c")
    assert paths.join("/", "a") == "/a"
    assert paths.join("/a/b", "c") == "/a/b/c"
    assert paths.join("/", "") == "/"
    assert paths.ancestors("/a/b/c") == ["/", "/a", "/a/b"]
    assert paths.ancestors("/a") == ["/"]
    assert paths.ancestors("/") == []


def test_is_within() -> None:
    assert paths.is_within("/a/b", "/a")
    assert paths.is_within("/a", "/a")
    assert not paths.is_within("/ab", "/a")
    assert paths.is_within("/x", "/")
