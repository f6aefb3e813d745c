"""Generated protobuf and gRPC modules for kelp's own services (package kelp.v1).

The .proto files beside this module are the sources; regenerate with
`python -m ops.protogen` and never edit the *_pb2*.py files by hand.
"""
