"""The filer: directories, files and their metadata over a SQL store, served over SeaweedFS's
filer HTTP and gRPC APIs, with a change stream written in the same transaction as every mutation.

Layout: store/ (SQL: entries, change log, chunk deletion queue, kv), config.py (filer.toml),
entry.py, paths.py, chunks.py, core.py (namespace operations; transport-free), gc.py,
http_api.py, grpc_api.py, subscribe.py, mount_registry.py, server.py.

No module here imports ops or dataplane server code: only dataplane.client, kelp_http (in
http_api/server), grpc (in grpc_api/server) and kelp_pb; store/ imports no grpc or kelp_http.
"""
