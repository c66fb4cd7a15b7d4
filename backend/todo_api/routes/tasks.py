"""/api/{user_id}/tasks: every handler runs only after the token and the owner are checked."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlmodel import col, func, select

from todo_api.deps import DbSession, OwnerId
from todo_api.errors import ApiError, ErrorResponse
from todo_api.models import Task, utcnow
from todo_api.schemas import TaskCreate, TaskPage, TaskPatch, TaskRead, TaskReplace

MAX_PAGE = 200
MAX_OFFSET = 2**31 - 1


def _error(description: str, **headers: str) -> dict[str, Any]:
    documented = {
        name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
    }
    return {"model": ErrorResponse, "description": description, "headers": documented}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error(
        "Missing, malformed, expired or otherwise invalid token.",
        **{"WWW-Authenticate": 'Always `Bearer error="invalid_token"`.'},
    ),
    403: _error("The path's user id is not the token's subject."),
    413: _error("Request body larger than 64 KiB."),
    422: _error("Invalid query or body; `fields` names each offending field."),
    503: _error(
        "Signing keys or the database unavailable.",
        **{"Retry-After": "Seconds to wait before retrying."},
    ),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _error("No such task for this user (also for another user's task)."),
}

router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"], responses=COMMON_ERRORS)


def _load(session: DbSession, owner: str, task_id: str) -> Task:
    # Ids are UUIDs; anything else cannot name a task, so it is "not found" like any other.
    try:
        key = uuid.UUID(task_id)
    except ValueError:
        raise ApiError(404, "not_found", "Task not found.") from None
    task = session.exec(select(Task).where(Task.id == key, Task.user_id == owner)).first()
    if task is None:
        raise ApiError(404, "not_found", "Task not found.")
    return task


def _save(session: DbSession, task: Task) -> TaskRead:
    session.add(task)
    session.commit()
    session.refresh(task)
    return TaskRead.model_validate(task)


@router.get("", summary="List own tasks, newest first")
def list_tasks(
    owner: OwnerId,
    session: DbSession,
    completed: Annotated[bool | None, Query(description="Filter by completion.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TaskPage:
    where = [Task.user_id == owner]
    if completed is not None:
        where.append(Task.completed == completed)
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    rows = session.exec(
        select(Task)
        .where(*where)
        .order_by(col(Task.created_at).desc(), col(Task.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return TaskPage(
        items=[TaskRead.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a task")
def create_task(
    owner: OwnerId, session: DbSession, body: TaskCreate, response: Response
) -> TaskRead:
    created = _save(session, Task(user_id=owner, **body.model_dump()))
    response.headers["Location"] = f"/api/{owner}/tasks/{created.id}"
    return created


@router.get("/{task_id}", responses=NOT_FOUND, summary="Read a task")
def read_task(owner: OwnerId, session: DbSession, task_id: str) -> TaskRead:
    return TaskRead.model_validate(_load(session, owner, task_id))


@router.put("/{task_id}", responses=NOT_FOUND, summary="Replace a task")
def replace_task(owner: OwnerId, session: DbSession, task_id: str, body: TaskReplace) -> TaskRead:
    task = _load(session, owner, task_id)
    task.sqlmodel_update(body.model_dump())
    task.updated_at = utcnow()
    return _save(session, task)


@router.patch("/{task_id}", responses=NOT_FOUND, summary="Change some fields of a task")
def update_task(owner: OwnerId, session: DbSession, task_id: str, body: TaskPatch) -> TaskRead:
    task = _load(session, owner, task_id)
    changes = body.model_dump(exclude_unset=True)
    if changes:
        task.sqlmodel_update(changes)
        task.updated_at = utcnow()
    return _save(session, task)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
    summary="Delete a task",
)
def delete_task(owner: OwnerId, session: DbSession, task_id: str) -> Response:
    session.delete(_load(session, owner, task_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/{task_id}/complete", responses=NOT_FOUND, summary="Toggle completion")
def toggle_task(owner: OwnerId, session: DbSession, task_id: str) -> TaskRead:
    task = _load(session, owner, task_id)
    task.completed = not task.completed
    task.updated_at = utcnow()
    return _save(session, task)
