"""The request path's database, and the synchronous engine migrations use.

A process has one `Database`: `PostgresDatabase` (`postgres.py`: SQLAlchemy-built statements
run by psycopg 3 on a small fail-fast pool) or `SqliteDatabase` here (the embedded default,
on SQLAlchemy's async engine over aiosqlite). Both run a statement in autocommit -- every
request is one statement, atomic on its own, so no request pays for BEGIN and
COMMIT/ROLLBACK round trips -- and both return rows as plain dicts of the same Python
values. `DATABASE_URL` keeps its spellings (`sqlite:///PATH`, `postgresql+psycopg://...`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from todo_api.settings import DatabaseSettings

# Requests touch a handful of rows; anything slower than this is a stuck server.
STATEMENT_TIMEOUT_MS = 15_000
APPLICATION_NAME = "todo_api"
# UTC sessions: timestamps arrive already in the zone the API answers in.
SESSION_OPTIONS = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC"

Statement = sa.ClauseElement


class DatabaseUnavailable(Exception):
    """The database cannot be reached (down, no free connection, connection lost): a 503."""


class Database(Protocol):
    dialect_name: str

    async def rows(
        self, statement: Statement, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Run one statement; its rows (none for a statement without RETURNING)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def connect_timeout(settings: DatabaseSettings) -> int:
    return max(1, round(settings.db_connect_timeout_seconds))


class SqliteDatabase:
    """`Database` on a SQLite file (SQLAlchemy's async engine over aiosqlite)."""

    dialect_name = "sqlite"

    def __init__(self, settings: DatabaseSettings) -> None:
        url = make_url(settings.database_url).set(drivername="sqlite+aiosqlite")
        self.engine: AsyncEngine = create_async_engine(
            url,
            isolation_level="AUTOCOMMIT",
            connect_args={"timeout": settings.db_pool_timeout_seconds},
        )
        event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def rows(
        self, statement: Statement, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        async with self._connect() as connection:
            return _fields(await connection.execute(statement, parameters))  # type: ignore[call-overload]

    async def ping(self) -> None:
        async with self._connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """Giving the connection back cannot fail the request: the statement has already
        succeeded (a committed write is true whatever happens next)."""
        connection = await self.engine.connect()
        try:
            yield connection
        finally:
            with contextlib.suppress(sa_exc.OperationalError, sa_exc.InterfaceError):
                await connection.close()


def _fields(result: CursorResult[Any]) -> list[dict[str, Any]]:
    if not result.returns_rows:
        return []
    # Plain dicts: pydantic reads them in its core, while reading a Row's attributes goes
    # through Python for every field (about 3x slower for a page of 20).
    names = tuple(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]


def make_sync_engine(settings: DatabaseSettings) -> Engine:
    """Migrations only (Alembic is synchronous): same timeouts, no request traffic."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": settings.db_pool_timeout_seconds})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "connect_timeout": connect_timeout(settings),
            "options": SESSION_OPTIONS,
            "application_name": APPLICATION_NAME,
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
