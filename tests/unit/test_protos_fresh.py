"""The committed kelp_pb/*_pb2*.py modules are exactly what `python -m ops.protogen` makes from
the .proto sources, so nobody runs against stale generated code."""

from __future__ import annotations

from ops import protogen


def test_generated_modules_match_their_sources() -> None:
    stale = protogen.stale_modules()
    assert stale == [], f"stale generated modules {stale}: run python -m ops.protogen and commit them"


def test_every_proto_source_has_generated_modules() -> None:
    sources = protogen.proto_sources()
    assert sources, "no .proto sources found"
    for source in sources:
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            assert source.with_name(source.stem + suffix).is_file(), f"{source.stem}{suffix} missing"
