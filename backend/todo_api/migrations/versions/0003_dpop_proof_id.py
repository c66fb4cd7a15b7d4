"""spent DPoP proof ids, shared by every backend process

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

A proof's `jti` may be accepted once within its window (RFC 9449 section 11.1). Each
process remembers the ids it accepted, but a replay sent to another worker or replica
would pass there: this table is the one record every process checks (the key is the
primary key, so of concurrent inserts exactly one succeeds). Keys are SHA-256 hex digests of
thumbprint and `jti`, so a row has a fixed size. Rows are purged once expired.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dpop_proof_id",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_dpop_proof_id_expires_at", "dpop_proof_id", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dpop_proof_id_expires_at", table_name="dpop_proof_id")
    op.drop_table("dpop_proof_id")
