"""The task table's statements: one per request, each atomic on its own (autocommit).

Every statement names the owner next to the task id, so another user's task is simply
not found. Writes return the row they wrote (`RETURNING`), so no request reads back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa

from todo_api.db import Database, Statement
from todo_api.models import Task, TaskCount, utcnow
from todo_api.schemas import StoredPage, StoredTask, TaskRead

task: sa.Table = Task.__table__  # type: ignore[attr-defined]
task_count: sa.Table = TaskCount.__table__  # type: ignore[attr-defined]
COLUMNS = (
    task.c.id,
    task.c.user_id,
    task.c.title,
    task.c.description,
    task.c.completed,
    task.c.created_at,
    task.c.updated_at,
)
NEWEST_FIRST = (task.c.created_at.desc(), task.c.id.desc())
# Statements are built once, with bound parameters: building one per request (and its cache
# key) costs more than the round trip to the database.
_OWNER = sa.bindparam("owner", type_=task.c.user_id.type)
_OWNED = (task.c.id == sa.bindparam("task_key", type_=task.c.id.type), task.c.user_id == _OWNER)


def _page_statement(completed: bool | None) -> sa.Select[Any]:
    """The page and its total in one statement: the count is a primary-key lookup in
    `task_count`, the rows an index range in page order. The page is outer-joined to a
    one-row source so an empty page still brings its total."""
    where = [task.c.user_id == _OWNER]
    counted: sa.ColumnElement[int] = task_count.c.tasks
    if completed is not None:
        where.append(task.c.completed == completed)
        counted = (
            task_count.c.completed if completed else task_count.c.tasks - task_count.c.completed
        )
    total = sa.select(counted).where(task_count.c.user_id == _OWNER).scalar_subquery()
    rows = (
        sa.select(*COLUMNS)
        .where(*where)
        .order_by(*NEWEST_FIRST)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .subquery("page")
    )
    one = sa.select(sa.func.coalesce(total, 0).label("total")).subquery("one")
    return (
        sa.select(one.c.total, *rows.c)
        .select_from(one.outerjoin(rows, sa.true()))
        .order_by(rows.c.created_at.desc(), rows.c.id.desc())
    )


PAGE = {completed: _page_statement(completed) for completed in (None, True, False)}
READ = sa.select(*COLUMNS).where(*_OWNED)
INSERT = sa.insert(task).returning(*COLUMNS)
UPDATE = sa.update(task).where(*_OWNED).returning(*COLUMNS)
# Flipped by the database, so concurrent toggles never lose one another.
TOGGLE = UPDATE.values(completed=sa.not_(task.c.completed))
DELETE = sa.delete(task).where(*_OWNED).returning(task.c.id)


class TaskStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def ping(self) -> None:
        await self.database.ping()

    async def page(self, owner: str, completed: bool | None, limit: int, offset: int) -> StoredPage:
        parameters = {"owner": owner, "limit": limit, "offset": offset}
        rows = await self.database.rows(PAGE[completed], parameters)
        # Always one row at least (the total's); an empty page has no task in it.
        total = int(rows[0]["total"]) if rows else 0
        items: list[StoredTask] = []
        for row in rows:
            if row["id"] is not None:
                del row["total"]
                items.append(cast(StoredTask, row))
        return StoredPage(items=items, total=total, limit=limit, offset=offset)

    async def create(
        self, owner: str, fields: Mapping[str, Any], task_id: uuid.UUID | None = None
    ) -> TaskRead:
        now = utcnow()
        values = {
            "id": task_id or uuid.uuid4(),
            "user_id": owner,
            **fields,
            "created_at": now,
            "updated_at": now,
        }
        (row,) = await self.database.rows(INSERT, values)
        return TaskRead.model_validate(row)

    async def get(self, owner: str, task_id: uuid.UUID) -> TaskRead | None:
        return await self._one(READ, {"owner": owner, "task_key": task_id})

    async def update(
        self, owner: str, task_id: uuid.UUID, changes: Mapping[str, Any]
    ) -> TaskRead | None:
        """Set `changes` (and `updated_at`); with no changes, the task as it is."""
        if not changes:
            return await self.get(owner, task_id)
        parameters = {**changes, "updated_at": utcnow(), "owner": owner, "task_key": task_id}
        return await self._one(UPDATE, parameters)

    async def toggle(self, owner: str, task_id: uuid.UUID) -> TaskRead | None:
        return await self._one(
            TOGGLE, {"updated_at": utcnow(), "owner": owner, "task_key": task_id}
        )

    async def delete(self, owner: str, task_id: uuid.UUID) -> bool:
        return bool(await self.database.rows(DELETE, {"owner": owner, "task_key": task_id}))

    async def _one(self, statement: Statement, parameters: dict[str, Any]) -> TaskRead | None:
        rows = await self.database.rows(statement, parameters)
        return TaskRead.model_validate(rows[0]) if rows else None
