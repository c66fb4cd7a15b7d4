"""The task table's statements: one per request, each atomic on its own (autocommit).

Every statement names the owner next to the task id, so another user's task is simply
not found. Writes return the row they wrote (`RETURNING`), so no request reads back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.db import connect
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


def _fields(result: Result[Any]) -> list[dict[str, Any]]:
    # Plain dicts: pydantic reads them in its core, while reading a Row's attributes goes
    # through Python for every field (about 3x slower for a page of 20).
    names = tuple(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]


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


def _stored(row: dict[str, Any]) -> StoredTask:
    return StoredTask(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        description=row["description"],
        completed=row["completed"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class TaskStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ping(self) -> None:
        async with connect(self.engine) as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def page(self, owner: str, completed: bool | None, limit: int, offset: int) -> StoredPage:
        parameters = {"owner": owner, "limit": limit, "offset": offset}
        async with connect(self.engine) as connection:
            rows = _fields(await connection.execute(PAGE[completed], parameters))
        # Always one row at least (the total's); an empty page has no task in it.
        items = [_stored(row) for row in rows if row["id"] is not None]
        total = int(rows[0]["total"]) if rows else 0
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
        async with connect(self.engine) as connection:
            (row,) = _fields(await connection.execute(INSERT, values))
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
        async with connect(self.engine) as connection:
            result = await connection.execute(DELETE, {"owner": owner, "task_key": task_id})
            return result.first() is not None

    async def _one(self, statement: sa.Executable, parameters: dict[str, Any]) -> TaskRead | None:
        async with connect(self.engine) as connection:
            rows = _fields(await connection.execute(statement, parameters))
        return TaskRead.model_validate(rows[0]) if rows else None
