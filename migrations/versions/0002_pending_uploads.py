"""Pending uploads: chunks stored on volume servers that no committed entry owns yet.

filer_uploaders: one row per filer process that uploads (its boot id, advertised address, lease).
filer_pending_uploads: one row per chunk fid a request stored or is storing, written BEFORE the
chunk is uploaded; the transaction that commits the entry deletes its request's rows. Rows left by
a dead process (lease expired, or a newer process at the same address) are moved to
filer_chunk_deletions by the sweep (controlplane/filer/uploads.py).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "filer_uploaders",
        sa.Column("uploader", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("alive_until_ns", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("uploader", name="filer_uploaders_pkey"),
    )
    op.create_table(
        "filer_pending_uploads",
        sa.Column("id", AutoId, nullable=False, autoincrement=True),
        sa.Column("uploader", sa.Text, nullable=False),
        sa.Column("request", sa.BigInteger, nullable=False),
        sa.Column("fid", sa.Text, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="filer_pending_uploads_pkey"),
    )
    op.create_index("filer_pending_uploads_request", "filer_pending_uploads", ["uploader", "request"])


def downgrade() -> None:
    op.drop_index("filer_pending_uploads_request", table_name="filer_pending_uploads")
    op.drop_table("filer_pending_uploads")
    op.drop_table("filer_uploaders")
