"""filer.meta.backup: a continuous copy of a filer's metadata in a standby filer store.

- config.py: backup_filer.toml (the standby store, filer.toml's [sqlite] / [postgres] sections)
- checkpoint.py: the position kept in the standby's kv space (written with the changes it covers)
- events.py: a metadata event -> the row writes that make the standby match it (pure)
- standby.py: the standby store's batched writes, checkpoint included, in one transaction each
- filers.py: the primary filers over gRPC (ListEntries, SubscribeMetadata) with failover
- traverse.py: the full copy of a tree, every level, several directories in flight
- follow.py: the backup loop (checkpoint or traversal, then the change stream)
- progress.py: progress bar / log lines and the Prometheus metrics
- verify.py: primary vs standby comparison (filer.meta.verify)
- errors.py: what can stop a backup, as exception classes with data attributes

Imports the filer store, kelp_pb, grpc and prometheus_client; never ops or the filer's servers.
"""
