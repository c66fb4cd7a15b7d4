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

# PostgreSQL: statement-level triggers over the statement's transition tables, so a bulk
# write adds each user's change once. (Row-level triggers updating one counter row many
# times in one transaction leave a chain of row versions that each update walks again:
# quadratic. SQLite updates rows in place and has row-level triggers only.)
_APPLY_CHANGES = """
    INSERT INTO task_count AS counted (user_id, tasks, completed)
    SELECT user_id, sum(tasks), sum(completed) FROM ({changes}) AS change
    GROUP BY user_id
    HAVING sum(tasks) <> 0 OR sum(completed) <> 0
    ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
    SET tasks = counted.tasks + EXCLUDED.tasks,
        completed = counted.completed + EXCLUDED.completed;
"""
_ADDED = "SELECT user_id, 1 AS tasks, completed::int AS completed FROM new_rows"
_REMOVED = "SELECT user_id, -1 AS tasks, -completed::int AS completed FROM old_rows"
POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION task_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_APPLY_CHANGES.format(changes=_ADDED)}
        ELSIF TG_OP = 'DELETE' THEN
            {_APPLY_CHANGES.format(changes=_REMOVED)}
        ELSE
            {_APPLY_CHANGES.format(changes=f"{_ADDED} UNION ALL {_REMOVED}")}
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER task_count_insert AFTER INSERT ON task
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_count_apply()
    """,
    """
    CREATE TRIGGER task_count_update AFTER UPDATE ON task
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_count_apply()
    """,
    """
    CREATE TRIGGER task_count_delete AFTER DELETE ON task
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_count_apply()
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
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("task_count_update", "task_count_delete", "task_count_insert"):
        op.execute(f"DROP TRIGGER {name} ON task" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP FUNCTION task_count_apply()")
    op.drop_index("ix_task_user_completed_created", table_name="task")
    op.drop_index("ix_task_user_created", table_name="task")
    op.create_index("ix_task_user_id_created_at", "task", ["user_id", "created_at"])
    op.drop_table("task_count")
