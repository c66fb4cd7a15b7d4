"""Database tables owned by this service (`task`, `task_count`, `dpop_proof_id`; Better Auth
owns the rest)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
USER_ID_MAX = 255


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, also on SQLite (which stores no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Task(SQLModel, table=True):
    __tablename__ = "task"
    # Both serve a list page and its order straight from the index (scanned backwards for
    # newest first, `id` breaking ties): with or without the `completed` filter.
    __table_args__ = (
        sa.Index("ix_task_user_created", "user_id", "created_at", "id"),
        sa.Index("ix_task_user_completed_created", "user_id", "completed", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str = Field(max_length=USER_ID_MAX)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    completed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TaskCount(SQLModel, table=True):
    """Tasks per user, kept exact by database triggers on `task` (migration 0002), so a list
    page's `total` is one primary-key lookup instead of a count over the user's rows."""

    __tablename__ = "task_count"

    user_id: str = Field(max_length=USER_ID_MAX, primary_key=True)
    tasks: int = Field(default=0)
    completed: int = Field(default=0)


class DpopProofId(SQLModel, table=True):
    """A DPoP proof id accepted by some backend process, kept until its window closes
    (migration 0003): every process checks here, so a proof is accepted once in all."""

    __tablename__ = "dpop_proof_id"
    __table_args__ = (sa.Index("ix_dpop_proof_id_expires_at", "expires_at"),)

    key: str = Field(max_length=64, primary_key=True)
    expires_at: float
