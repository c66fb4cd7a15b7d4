"""Application factory: everything the process shares is built here from Settings."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from todo_api.auth import JwksCache, TokenVerifier
from todo_api.auth.setup import request_authenticator
from todo_api.db import Database, SqliteDatabase
from todo_api.errors import install_error_handlers
from todo_api.logs import logger
from todo_api.middleware import CorsPolicy, EdgeMiddleware
from todo_api.postgres import PostgresDatabase
from todo_api.proof_ids import DatabaseProofIds
from todo_api.routes import operation_id, tasks
from todo_api.routes.health import add_health_routes
from todo_api.settings import DatabaseSettings, Settings
from todo_api.store import TaskStore

DESCRIPTION = """\
Per-user task lists. Every `/api/{user_id}/...` route needs `Authorization: Bearer <token>`:
an RS256 access token from Better Auth whose `sub` equals `{user_id}`.

Errors always have the body `{"error": {"code", "message", "fields"?}}`.
"""


def open_database(settings: DatabaseSettings) -> Database:
    """The request path's database (opening it does not connect)."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return SqliteDatabase(settings)
    return PostgresDatabase(settings)


def create_app(
    settings: Settings,
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """Build the app. `monotonic` drives the JWKS cool-down and max-age clocks."""
    database = open_database(settings)
    keys = JwksCache(
        settings.jwks_url,
        algorithms=settings.jwt_algorithms,
        cooldown=settings.jwks_cooldown_seconds,
        max_age=settings.jwks_max_age_seconds,
        timeout=settings.jwks_timeout_seconds,
        clock=monotonic,
    )
    verifier = TokenVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithms=settings.jwt_algorithms,
        leeway=settings.jwt_leeway_seconds,
        max_lifetime=settings.jwt_max_lifetime_seconds,
        cache_size=settings.verified_token_cache_size,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            # Imported here: Alembic costs ~0.4 s of start-up a process that does not migrate
            # (a `todo_api.serve` worker, a hot-reload restart) need not pay.
            from todo_api.migrate import upgrade

            await anyio.to_thread.run_sync(upgrade, settings.database_url)
            logger.info("database migrated to head")
        try:
            yield
        finally:
            await keys.aclose()
            await database.close()

    app = FastAPI(
        title="Tasks API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # A slash redirect is built from the Host header (a 307 to any host, before auth);
        # the routes are exact, so another spelling is simply not found.
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.tasks = TaskStore(database)
    app.state.jwks = keys
    app.state.verifier = verifier
    app.state.authenticator = request_authenticator(
        settings, verifier, settings.jwt_leeway_seconds, DatabaseProofIds(database)
    )
    install_error_handlers(app)
    add_health_routes(app)
    app.include_router(tasks.router)
    app.add_middleware(
        EdgeMiddleware,
        cors=CorsPolicy(
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "DPoP"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "WWW-Authenticate",
                "Location",
                "DPoP-Nonce",
            ],
        ),
    )
    return app
