"""Fixtures: real RS256 keys served over HTTP, the app on SQLite and on PostgreSQL.

Every HTTP test runs twice, once per database (`-k sqlite` / `-k postgresql` picks one).
PostgreSQL is `TEST_DATABASE_URL` when set, else a throw-away cluster per test process.
Tests isolate their data by using fresh random user ids, so they can share a database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_support import AUDIENCE, ISSUER, Api, FakeClock, settings_for
from faker import Faker
from fastapi import FastAPI
from todo_api.app import create_app

from harness.issuer import Issuer, IssuerServer
from harness.postgres import TempPostgres


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fake() -> Faker:
    faker = Faker()
    faker.seed_instance(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    return faker


@pytest.fixture
def user_id(fake: Faker) -> str:
    return fake.uuid4()


@pytest.fixture
def other_user_id(fake: Faker) -> str:
    return fake.uuid4()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with TempPostgres() as cluster:
        yield cluster.create_database("todo_test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'todo.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def _key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One RSA key generated per session; each test gets its own copy to rotate freely.
    path = tmp_path_factory.mktemp("keys") / "issuer.json"
    Issuer(ISSUER, AUDIENCE, key_file=path)
    return path


@pytest.fixture
def token_issuer(_key_file: Path, tmp_path: Path) -> Issuer:
    own = tmp_path / "issuer.json"
    shutil.copy(_key_file, own)
    return Issuer(ISSUER, AUDIENCE, key_file=own)


@pytest.fixture
def jwks_server(token_issuer: Issuer) -> Iterator[IssuerServer]:
    with IssuerServer(token_issuer) as server:
        yield server
        server.recover()


AppFactory = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def make_api(database_url: str, jwks_server: IssuerServer) -> AppFactory:
    """Start an app (lifespan included) with settings overrides; yields an `Api`."""

    @asynccontextmanager
    async def start(
        setup: Callable[[FastAPI], None] | None = None, **overrides: Any
    ) -> AsyncIterator[Api]:
        clock = FakeClock()
        app = create_app(
            settings_for(database_url, jwks_server.jwks_url, **overrides), monotonic=clock
        )
        if setup is not None:
            setup(app)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            yield Api(app=app, http=http, clock=clock)

    return start


@pytest.fixture
async def api(make_api: AppFactory) -> AsyncIterator[Api]:
    async with make_api() as running:
        yield running


@pytest.fixture
def bearer(token_issuer: Issuer) -> Callable[..., dict[str, str]]:
    """Authorization header for a fresh token; keyword arguments go to `Issuer.mint`."""

    def headers(sub: str | None, **mint: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_issuer.mint(sub, **mint)}"}

    return headers
