"""Assertions shared by the backend's tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from todo_api.logs import JsonFormatter
from todo_api.settings import Settings

ISSUER = "http://localhost:3000"
AUDIENCE = "http://localhost:3000"


class FakeClock:
    """Monotonic clock the tests move by hand (JWKS cool-down and max-age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Api:
    """A running app and an HTTP client for it."""

    app: FastAPI
    http: httpx.AsyncClient
    clock: FakeClock

    @property
    def jwks_fetches(self) -> int:
        return int(self.app.state.jwks.fetch_count)


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Audit records exactly as they are written to stderr (parsed back from JSON)."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "todo_api.audit"
    ]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    assert response.headers.get("x-request-id")
    return error


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for a background effect (polling, never a fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def settings_for(database_url: str, jwks_url: str, /, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwks_url": jwks_url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwks_cooldown_seconds": 30,
        "jwks_timeout_seconds": 2,
        **overrides,
    }
    return Settings(**values)
