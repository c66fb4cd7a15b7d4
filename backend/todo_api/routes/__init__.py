"""The HTTP routes. Operation ids are the handler names (list_tasks, create_task, ...), stable
and readable for generated clients."""

from __future__ import annotations

from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    return route.name
