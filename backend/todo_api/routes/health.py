"""Liveness and readiness probes (no auth: they reveal nothing but up/down)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from todo_api.deps import DbSession
from todo_api.errors import ErrorResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "The database does not answer."}
}


@router.get("/readyz", responses=_UNAVAILABLE, summary="The database answers")
def readyz(session: DbSession) -> dict[str, str]:
    session.connection().execute(text("SELECT 1"))
    return {"status": "ready"}
