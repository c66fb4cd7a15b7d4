"""list indexes with the page order; per-user task counts kept by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

A list page is `WHERE user_id = ? [AND completed = ?] ORDER BY created_at DESC, id DESC
LIMIT ? OFFSET ?`: each index below yields those rows in that order (scanned backwards),
so the page never sorts or reads more rows than offset + limit. Its `total` comes from
`task_count`, which the triggers keep exact in the same statement as the write, whoever
writes (the API, a script, a console).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION task_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE task_count
            SET tasks = tasks - 1, completed = completed - OLD.completed::int
            WHERE user_id = OLD.user_id;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            INSERT INTO task_count AS counted (user_id, tasks, completed)
            VALUES (NEW.user_id, 1, NEW.completed::int)
            ON CONFLICT (user_id) DO UPDATE
            SET tasks = counted.tasks + 1, completed = counted.completed + EXCLUDED.completed;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER task_count_insert_delete AFTER INSERT OR DELETE ON task
    FOR EACH ROW EXECUTE FUNCTION task_count_apply()
    """,
    """
    CREATE TRIGGER task_count_update AFTER UPDATE OF user_id, completed ON task
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.completed IS DISTINCT FROM NEW.completed)
    EXECUTE FUNCTION task_count_apply()
    """,
]

_SQLITE_ADD = """
    INSERT INTO task_count (user_id, tasks, completed) VALUES (NEW.user_id, 1, NEW.completed)
    ON CONFLICT (user_id) DO UPDATE
    SET tasks = tasks + 1, completed = completed + excluded.completed;
"""
_SQLITE_REMOVE = """
    UPDATE task_count SET tasks = tasks - 1, completed = completed - OLD.completed
    WHERE user_id = OLD.user_id;
"""
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER task_count_insert AFTER INSERT ON task BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER task_count_delete AFTER DELETE ON task BEGIN {_SQLITE_REMOVE} END",
    f"""
    CREATE TRIGGER task_count_update AFTER UPDATE OF user_id, completed ON task
    WHEN OLD.user_id IS NOT NEW.user_id OR OLD.completed IS NOT NEW.completed
    BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END
    """,
]

BACKFILL = """
    INSERT INTO task_count (user_id, tasks, completed)
    SELECT user_id, count(*), sum(CASE WHEN completed THEN 1 ELSE 0 END) FROM task GROUP BY user_id
"""


def upgrade() -> None:
    op.create_table(
        "task_count",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_task_count"),
    )
    op.drop_index("ix_task_user_id_created_at", table_name="task")
    op.create_index("ix_task_user_created", "task", ["user_id", "created_at", "id"])
    op.create_index(
        "ix_task_user_completed_created", "task", ["user_id", "completed", "created_at", "id"]
    )
    # One transaction, and DROP INDEX holds an exclusive lock on `task` until it commits:
    # no write can fall between the backfill and the triggers.
    op.execute(BACKFILL)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER task_count_update ON task")
        op.execute("DROP TRIGGER task_count_insert_delete ON task")
        op.execute("DROP FUNCTION task_count_apply()")
    else:
        for name in ("task_count_update", "task_count_delete", "task_count_insert"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_task_user_completed_created", table_name="task")
    op.drop_index("ix_task_user_created", table_name="task")
    op.create_index("ix_task_user_id_created_at", "task", ["user_id", "created_at"])
    op.drop_table("task_count")
