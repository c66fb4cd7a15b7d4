"""/api/{user_id}/tasks: every handler runs only after the token and the owner are checked."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status

from todo_api.deps import OwnerId, Store
from todo_api.errors import ApiError, ErrorResponse
from todo_api.routes import operation_id
from todo_api.schemas import (
    STORED_PAGE_JSON,
    TaskCreate,
    TaskPage,
    TaskPatch,
    TaskRead,
    TaskReplace,
)

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

router = APIRouter(
    prefix="/api/{user_id}/tasks",
    tags=["tasks"],
    responses=COMMON_ERRORS,
    generate_unique_id_function=operation_id,
)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "Task not found.")


def _task_key(task_id: str) -> uuid.UUID:
    # Ids are UUIDs; anything else cannot name a task, so it is "not found" like any other.
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise _not_found() from None


def _found(task: TaskRead | None) -> TaskRead:
    if task is None:
        raise _not_found()
    return task


@router.get("", response_model=TaskPage, summary="List own tasks, newest first")
async def list_tasks(
    owner: OwnerId,
    store: Store,
    completed: Annotated[bool | None, Query(description="Filter by completion.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    page = await store.page(owner, completed, limit, offset)
    # Serialized here, so FastAPI does not validate the page a second time on its way out.
    return Response(STORED_PAGE_JSON.dump_json(page), media_type="application/json")


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a task")
async def create_task(
    owner: OwnerId, store: Store, body: TaskCreate, response: Response
) -> TaskRead:
    task_id = uuid.uuid4()
    # Built before the write, and percent-encoded: a header must be ASCII without CR/LF,
    # and a failure after the commit would make the client retry a write that happened.
    response.headers["Location"] = f"/api/{quote(owner, safe='')}/tasks/{task_id}"
    return await store.create(owner, body.model_dump(), task_id)


@router.get("/{task_id}", responses=NOT_FOUND, summary="Read a task")
async def read_task(owner: OwnerId, store: Store, task_id: str) -> TaskRead:
    return _found(await store.get(owner, _task_key(task_id)))


@router.put("/{task_id}", responses=NOT_FOUND, summary="Replace a task")
async def replace_task(owner: OwnerId, store: Store, task_id: str, body: TaskReplace) -> TaskRead:
    return _found(await store.update(owner, _task_key(task_id), body.model_dump()))


@router.patch("/{task_id}", responses=NOT_FOUND, summary="Change some fields of a task")
async def update_task(owner: OwnerId, store: Store, task_id: str, body: TaskPatch) -> TaskRead:
    changes = body.model_dump(exclude_unset=True)
    return _found(await store.update(owner, _task_key(task_id), changes))


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
    summary="Delete a task",
)
async def delete_task(owner: OwnerId, store: Store, task_id: str) -> Response:
    if not await store.delete(owner, _task_key(task_id)):
        raise _not_found()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/{task_id}/complete", responses=NOT_FOUND, summary="Toggle completion")
async def toggle_task(owner: OwnerId, store: Store, task_id: str) -> TaskRead:
    return _found(await store.toggle(owner, _task_key(task_id)))
