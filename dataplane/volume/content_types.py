"""MIME types the way the Go standard library derives them, which SeaweedFS clients see:
by file extension (`mime.TypeByExtension`: the system mime.types table, text types given
`; charset=utf-8`) and by content (`http.DetectContentType`, the subset that matters here).

Pure: no I/O beyond the mimetypes module reading the system table once.
"""

from __future__ import annotations

import mimetypes
import re
from functools import lru_cache

OCTET_STREAM = "application/octet-stream"
TEXT_UTF8 = "text/plain; charset=utf-8"

if not mimetypes.inited:
    mimetypes.init()  # read the system mime.types once, as Go does

# Go's built-in table, used where the system table has no entry.
_GO_BUILTIN = {
    ".avif": "image/avif",
    ".css": "text/css; charset=utf-8",
    ".gif": "image/gif",
    ".htm": "text/html; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".mjs": "text/javascript; charset=utf-8",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".webp": "image/webp",
    ".xml": "text/xml; charset=utf-8",
}


@lru_cache(maxsize=1024)
def type_by_extension(ext: str) -> str:
    """`.txt` -> `text/plain; charset=utf-8`; "" when unknown. Case-insensitive."""
    if not ext:
        return ""
    ext = ext.lower()
    found = mimetypes.types_map.get(ext) or mimetypes.common_types.get(ext)
    if found is None:
        return _GO_BUILTIN.get(ext, "")
    if found.startswith("text/") and "charset" not in found:
        found += "; charset=utf-8"
    return found


def extension(name: str) -> str:
    """The extension of the last path element, with its dot ("" if none)."""
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:] if dot >= 0 else ""


# Bytes that make content binary, per the WHATWG sniffing rules Go follows.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_HTML_TAGS = (
    b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV", b"<FONT",
    b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P", b"<!--",
)
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"%!PS-Adobe-", "application/postscript"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x89PNG\x0d\x0a\x1a\x0a", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"BM", "image/bmp"),
    (b"\x1f\x8b\x08", "application/x-gzip"),
    (b"PK\x03\x04", "application/zip"),
    (b"Rar!\x1a\x07", "application/x-rar-compressed"),
    (b"\x00asm", "application/wasm"),
    (b"OggS\x00", "application/ogg"),
)
# One C-level test before the loop: most stored data matches no signature, and every read of
# a needle without a stored type is sniffed.
_MAGIC_PREFIXES = tuple(magic for magic, _ in _MAGIC)


def detect_content_type(data: bytes) -> str:
    """A MIME type for `data` (its first 512 bytes), always valid, as `http.DetectContentType`."""
    head = data[:512]
    if head.startswith((b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf")):
        return TEXT_UTF8 if head.startswith(b"\xef\xbb\xbf") else "text/plain; charset=utf-16"
    stripped = head.lstrip(b"\t\n\x0c\r ")
    if stripped.startswith(b"<"):  # every HTML and XML signature starts so
        upper = stripped[:14].upper()
        for tag in _HTML_TAGS:
            if upper.startswith(tag) and len(stripped) > len(tag) and stripped[len(tag)] in b" >":
                return "text/html; charset=utf-8"
        if stripped.startswith(b"<?xml"):
            return "text/xml; charset=utf-8"
    if head.startswith(_MAGIC_PREFIXES):
        for magic, ctype in _MAGIC:
            if head.startswith(magic):
                return ctype
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wave"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _BINARY.search(head):
        return OCTET_STREAM
    return TEXT_UTF8


def is_compressible(mime: str) -> bool:
    """Whether SeaweedFS auto-gzips data of this type: text, XML/script applications, WAV audio."""
    if mime.startswith("text/"):
        return True
    if mime.startswith("application/"):
        base = mime.split(";", 1)[0].rstrip()
        return base.endswith(("xml", "script"))
    if mime.startswith("audio/"):
        return mime[6:].split(";", 1)[0] in ("wave", "wav", "x-wav", "x-pn-wav")
    return False
