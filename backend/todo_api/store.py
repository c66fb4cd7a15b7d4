"""The task table's statements: one per request, each atomic on its own (autocommit).

Every statement names the owner next to the task id, so another user's task is simply
not found. Writes return the row they wrote (`RETURNING`), so no request reads back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.db import connect
from todo_api.models import Task, TaskCount, utcnow
from todo_api.schemas import TaskRead

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


@dataclass(frozen=True)
class Page:
    items: list[TaskRead]
    total: int


def _read(row: Row[Any]) -> TaskRead:
    return TaskRead.model_validate(row)


def _owned(owner: str, task_id: uuid.UUID) -> tuple[sa.ColumnElement[bool], ...]:
    return (task.c.id == task_id, task.c.user_id == owner)


def _total(owner: str, completed: bool | None) -> sa.ScalarSelect[Any]:
    counted: sa.ColumnElement[int]
    if completed is None:
        counted = task_count.c.tasks
    elif completed:
        counted = task_count.c.completed
    else:
        counted = task_count.c.tasks - task_count.c.completed
    return sa.select(counted).where(task_count.c.user_id == owner).scalar_subquery()


def page_statement(
    owner: str, completed: bool | None, limit: int, offset: int
) -> sa.Select[Any]:
    """The page and its total in one statement: the count is a primary-key lookup in
    `task_count`, the rows an index range in page order. The page is outer-joined to a
    one-row source so an empty page still brings its total."""
    where = [task.c.user_id == owner]
    if completed is not None:
        where.append(task.c.completed == completed)
    rows = (
        sa.select(*COLUMNS)
        .where(*where)
        .order_by(*NEWEST_FIRST)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    one = sa.select(sa.func.coalesce(_total(owner, completed), 0).label("total")).subquery("one")
    return (
        sa.select(one.c.total, *rows.c)
        .select_from(one.outerjoin(rows, sa.true()))
        .order_by(rows.c.created_at.desc(), rows.c.id.desc())
    )


class TaskStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ping(self) -> None:
        async with connect(self.engine) as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def page(self, owner: str, completed: bool | None, limit: int, offset: int) -> Page:
        async with connect(self.engine) as connection:
            result = await connection.execute(page_statement(owner, completed, limit, offset))
            rows = result.all()
        items = [_read(row) for row in rows if row.id is not None]
        return Page(items=items, total=int(rows[0].total) if rows else 0)

    async def create(self, owner: str, fields: Mapping[str, Any]) -> TaskRead:
        now = utcnow()
        values = {
            "id": uuid.uuid4(),
            "user_id": owner,
            **fields,
            "created_at": now,
            "updated_at": now,
        }
        async with connect(self.engine) as connection:
            row = (await connection.execute(sa.insert(task).values(values).returning(*COLUMNS))).one()
        return _read(row)

    async def get(self, owner: str, task_id: uuid.UUID) -> TaskRead | None:
        statement = sa.select(*COLUMNS).where(*_owned(owner, task_id))
        async with connect(self.engine) as connection:
            row = (await connection.execute(statement)).first()
        return _read(row) if row is not None else None

    async def update(
        self, owner: str, task_id: uuid.UUID, changes: Mapping[str, Any]
    ) -> TaskRead | None:
        """Set `changes` (and `updated_at`); with no changes, the task as it is."""
        if not changes:
            return await self.get(owner, task_id)
        return await self._update(owner, task_id, {**changes, "updated_at": utcnow()})

    async def toggle(self, owner: str, task_id: uuid.UUID) -> TaskRead | None:
        # Flipped by the database, so concurrent toggles never lose one another.
        return await self._update(
            owner, task_id, {"completed": sa.not_(task.c.completed), "updated_at": utcnow()}
        )

    async def delete(self, owner: str, task_id: uuid.UUID) -> bool:
        statement = sa.delete(task).where(*_owned(owner, task_id)).returning(task.c.id)
        async with connect(self.engine) as connection:
            return (await connection.execute(statement)).first() is not None

    async def _update(
        self, owner: str, task_id: uuid.UUID, values: Mapping[str, Any]
    ) -> TaskRead | None:
        statement = (
            sa.update(task).where(*_owned(owner, task_id)).values(values).returning(*COLUMNS)
        )
        async with connect(self.engine) as connection:
            row = (await connection.execute(statement)).first()
        return _read(row) if row is not None else None
