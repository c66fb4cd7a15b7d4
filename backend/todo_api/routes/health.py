"""Liveness and readiness probes (no auth: they reveal nothing but up/down)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from todo_api.deps import Store
from todo_api.errors import ErrorResponse
from todo_api.routes import operation_id

router = APIRouter(tags=["health"], generate_unique_id_function=operation_id)


# A coroutine: answered on the event loop, with no dependency and no threadpool hop.
@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "The database does not answer."}
}


@router.get("/readyz", responses=_UNAVAILABLE, summary="The database answers")
async def readyz(store: Store) -> dict[str, str]:
    await store.ping()
    return {"status": "ready"}
