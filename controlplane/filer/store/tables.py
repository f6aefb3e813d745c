"""The filer schema as SQLAlchemy Core tables: what the store's queries are built from, and
Alembic's `target_metadata` (so `alembic revision --autogenerate` can compare). The database
itself is created only by the revisions in migrations/versions/, never by `metadata.create_all`.

- filer_entries: one row per entry, keyed by (directory, name), holding the entry as opaque bytes
  (the core stores a serialized filer_pb.Entry). Text columns use the "C" collation on
  PostgreSQL so names sort and page in byte order, as SQLite's BINARY collation does.
- filer_changes: the change log, one row per event, gap-free `seq` (see changelog.py).
- filer_change_state: the single row (id 1) that allocates seqs and remembers what retention removed.
- filer_chunk_deletions: the durable queue of chunk file ids to delete on volume servers.
- filer_kv: the KvGet/KvPut key-value space.
- filer_uploaders, filer_pending_uploads: chunks stored for requests that have not committed yet,
  and the filer processes (leases) that own them (revision 0002; controlplane/filer/uploads.py).

Imports SQLAlchemy only.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

# Byte-order text on PostgreSQL; SQLite compares text with memcmp already (and knows no "C").
NameText = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
# A 64-bit id the database assigns: SQLite only auto-assigns an INTEGER PRIMARY KEY (its rowid).
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATE_ROW_ID = 1

entries = sa.Table(
    "filer_entries", metadata,
    sa.Column("directory", NameText, primary_key=True),
    sa.Column("name", NameText, primary_key=True),
    sa.Column("entry", sa.LargeBinary, nullable=False),
)

changes = sa.Table(
    "filer_changes", metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    # max(ts_ns) over this row and every earlier one: non-decreasing in seq, so a time maps to a
    # seq with one index probe (first_seq_at_or_after) and retention removes a seq prefix.
    sa.Column("ts_high", sa.BigInteger, nullable=False),
    sa.Column("directory", NameText, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Index("filer_changes_ts_high", "ts_high", "seq"),
)

change_state = sa.Table(
    "filer_change_state", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),       # highest seq allocated (and committed)
    sa.Column("last_ts_high", sa.BigInteger, nullable=False),   # ts_high of that row
    sa.Column("trimmed_seq", sa.BigInteger, nullable=False),    # highest seq retention removed
    sa.Column("trimmed_ts_high", sa.BigInteger, nullable=False),  # ts_high of that row
)

chunk_deletions = sa.Table(
    "filer_chunk_deletions", metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("fid", sa.Text, nullable=False),
    # A worker that took the row owns it until then; after that another may take it again.
    sa.Column("lease_until_ns", sa.BigInteger, nullable=False, server_default="0"),
)

kv = sa.Table(
    "filer_kv", metadata,
    sa.Column("key", sa.LargeBinary, primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)

uploaders = sa.Table(
    "filer_uploaders", metadata,
    sa.Column("uploader", sa.Text, primary_key=True),  # one filer process: "address#boot nonce"
    sa.Column("address", sa.Text, nullable=False),  # its advertised ip:port ("" in tests)
    sa.Column("alive_until_ns", sa.BigInteger, nullable=False),  # its lease
)

pending_uploads = sa.Table(
    "filer_pending_uploads", metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("uploader", sa.Text, nullable=False),
    sa.Column("request", sa.BigInteger, nullable=False),  # the uploader's request number
    sa.Column("fid", sa.Text, nullable=False),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Index("filer_pending_uploads_request", "uploader", "request"),
)
