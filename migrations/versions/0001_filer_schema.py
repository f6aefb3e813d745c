"""The filer schema: entries, change log (+ its state row), chunk deletion queue, kv.

A revision is frozen history: it spells its tables out instead of importing tables.py, which
describes only the newest schema.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NameText = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "filer_entries",
        sa.Column("directory", NameText, nullable=False),
        sa.Column("name", NameText, nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("directory", "name", name="filer_entries_pkey"),
    )
    op.create_table(
        "filer_changes",
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("ts_high", sa.BigInteger, nullable=False),
        sa.Column("directory", NameText, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="filer_changes_pkey"),
    )
    op.create_index("filer_changes_ts_high", "filer_changes", ["ts_high", "seq"])
    state = op.create_table(
        "filer_change_state",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_ts_high", sa.BigInteger, nullable=False),
        sa.Column("trimmed_seq", sa.BigInteger, nullable=False),
        sa.Column("trimmed_ts_high", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="filer_change_state_pkey"),
    )
    op.bulk_insert(state, [
        {"id": 1, "last_seq": 0, "last_ts_high": 0, "trimmed_seq": 0, "trimmed_ts_high": 0},
    ])
    op.create_table(
        "filer_chunk_deletions",
        sa.Column("id", AutoId, nullable=False, autoincrement=True),
        sa.Column("fid", sa.Text, nullable=False),
        sa.Column("lease_until_ns", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="filer_chunk_deletions_pkey"),
    )
    op.create_table(
        "filer_kv",
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("key", name="filer_kv_pkey"),
    )


def downgrade() -> None:
    for table in ("filer_kv", "filer_chunk_deletions", "filer_change_state", "filer_changes",
                  "filer_entries"):
        op.drop_table(table)
