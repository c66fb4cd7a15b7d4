"""The common FastAPI + SQLModel style, as the yardstick of `bench/throughput.py`.

Written the way most FastAPI + SQLModel backends are (the project templates and tutorials):
sync handlers and a sync `Session` per request (so every request hops to the threadpool),
a count query plus a select per list page, `add` / `commit` / `refresh` for writes, and
the signing key looked up per request through `PyJWKClient` (its key set cached, the RSA
verification done every time). Same routes, same JSON shapes and the same `task` table as
the backend, so one load script drives both.

    DATABASE_URL=postgresql+psycopg://... JWKS_URL=... JWT_ISSUER=... JWT_AUDIENCE=... \\
        .venv/bin/uvicorn bench.reference_app:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import Field, Session, SQLModel, col, create_engine, func, select

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
jwks_client = jwt.PyJWKClient(os.environ["JWKS_URL"])
ISSUER = os.environ["JWT_ISSUER"]
AUDIENCE = os.environ["JWT_AUDIENCE"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class TaskBase(SQLModel):
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    completed: bool = False


class Task(TaskBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str = Field(max_length=255, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class TaskPublic(TaskBase):
    id: uuid.UUID
    user_id: str
    created_at: datetime
    updated_at: datetime


class TasksPublic(BaseModel):
    items: list[TaskPublic]
    total: int
    limit: int
    offset: int


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())],
) -> str:
    token = credentials.credentials
    try:
        key = jwks_client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.PyJWTError:
        raise HTTPException(status_code=401, detail="Could not validate credentials") from None
    return str(claims["sub"])


SessionDep = Annotated[Session, Depends(get_session)]
CurrentUser = Annotated[str, Depends(current_user)]

app = FastAPI(title="reference")


def owned(user_id: str, current: str) -> None:
    if user_id != current:
        raise HTTPException(status_code=403, detail="Not enough permissions")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/{user_id}/tasks", response_model=TasksPublic)
def list_tasks(
    user_id: str,
    session: SessionDep,
    current: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TasksPublic:
    owned(user_id, current)
    count = session.exec(
        select(func.count()).select_from(Task).where(Task.user_id == user_id)
    ).one()
    tasks = session.exec(
        select(Task)
        .where(Task.user_id == user_id)
        .order_by(col(Task.created_at).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return TasksPublic(
        items=[TaskPublic.model_validate(task) for task in tasks],
        total=count,
        limit=limit,
        offset=offset,
    )


@app.post("/api/{user_id}/tasks", response_model=TaskPublic, status_code=201)
def create_task(user_id: str, body: TaskBase, session: SessionDep, current: CurrentUser) -> Task:
    owned(user_id, current)
    task = Task.model_validate(body, update={"user_id": user_id})
    session.add(task)
    session.commit()
    session.refresh(task)
    return task


@app.patch("/api/{user_id}/tasks/{task_id}/complete", response_model=TaskPublic)
def toggle_task(
    user_id: str, task_id: uuid.UUID, session: SessionDep, current: CurrentUser
) -> Task:
    owned(user_id, current)
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise HTTPException(status_code=404, detail="Task not found")
    task.completed = not task.completed
    task.updated_at = utcnow()
    session.add(task)
    session.commit()
    session.refresh(task)
    return task
