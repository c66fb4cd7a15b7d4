"""Engines: async for requests, sync for migrations; bounded waits so a dead database means
503, not a hang.

`DATABASE_URL` keeps its spellings (`sqlite:///PATH`, `postgresql+psycopg://...`): requests
run on psycopg 3's async driver (SQLAlchemy picks it for `create_async_engine`) or on
aiosqlite, translated here. The request engine is in autocommit mode: every request is one
statement, atomic on its own, so no request pays for BEGIN and COMMIT/ROLLBACK round trips.
"""

from __future__ import annotations

import contextlib
import select
import threading
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Dialect, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from todo_api.settings import DatabaseSettings

# Requests touch a handful of rows; anything slower than this is a stuck server.
STATEMENT_TIMEOUT_MS = 15_000


def async_url(database_url: str) -> URL:
    url = make_url(database_url)
    return url.set(drivername="sqlite+aiosqlite") if url.drivername == "sqlite" else url


def _postgresql_options(settings: DatabaseSettings) -> dict[str, Any]:
    return {
        # A fixed set of connections: overflow connections are closed as soon as they are
        # idle, and under steady concurrency that meant a new PostgreSQL backend process
        # for many requests. Requests beyond the pool wait for a connection (pool timeout).
        "pool_size": settings.db_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout_seconds,
        "pool_recycle": 1800,
        "connect_args": {
            "connect_timeout": max(1, round(settings.db_connect_timeout_seconds)),
            # UTC sessions: timestamps arrive already in the zone the API answers in.
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC",
            "application_name": "todo_api",
        },
    }


def make_engine(settings: DatabaseSettings) -> AsyncEngine:
    """The request path's engine (one per process; creating it does not connect)."""
    url = async_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            isolation_level="AUTOCOMMIT",
            connect_args={"timeout": settings.db_pool_timeout_seconds},
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", **_postgresql_options(settings))
    event.listen(engine.sync_engine, "checkout", _discard_if_closed_by_server)
    gate = ConnectGate()
    event.listen(engine.sync_engine, "do_connect", gate.connect)
    event.listen(engine.sync_engine, "handle_error", gate.on_error)
    return engine


def make_sync_engine(settings: DatabaseSettings) -> Engine:
    """Migrations only (Alembic is synchronous): same timeouts, no request traffic."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": settings.db_pool_timeout_seconds})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **_postgresql_options(settings))


def _discard_if_closed_by_server(_dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """The pre-ping of the request path, without its round trip (a `SELECT 1` per request
    cost about a tenth of a list page). An idle connection in autocommit has nothing to
    read unless the server ended it: a restart or shutdown sends FATAL and closes the
    socket, so readable (or closed) means dead and the pool connects afresh. Like a
    pre-ping, this cannot see a host that vanished without a word: the statement fails,
    and the error handler answers 503."""
    connection = record.driver_connection
    if connection is None or connection.closed:
        raise sa_exc.InvalidatePoolError("connection closed")
    poller = select.poll()  # not select(): no limit on the descriptor's number
    poller.register(connection.fileno(), select.POLLIN)
    if poller.poll(0):
        # As a failed pre-ping does: a server that ended one connection ended them all.
        raise sa_exc.InvalidatePoolError("connection closed by the server")


@contextlib.asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for one statement. Giving it back cannot fail the request: the
    statement has already succeeded (a committed write is true whatever happens next), so
    a database dying just then is ignored here and the pool discards the connection."""
    connection = await engine.connect()
    try:
        yield connection
    finally:
        with contextlib.suppress(sa_exc.OperationalError, sa_exc.InterfaceError):
            await connection.close()


class ConnectGate:
    """Fail fast while PostgreSQL is down: once a connection attempt fails or a pooled
    connection turns out dead, one request at a time tries to connect and the others get a
    503 at once, instead of each waiting out its own attempt.

    The connect timeout does not bound host name resolution: when the database host
    vanishes -- its container stopped -- concurrent lookups of its name took the resolver's
    5 s timeout, retried, so requests hung past 10 s. (The lock is only held between
    awaits, so it never blocks the event loop.)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False
        self._probing = False

    def on_error(self, context: ExceptionContext) -> None:
        if context.is_disconnect:
            with self._lock:
                self._down = True

    def connect(self, dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        with self._lock:
            if self._down and self._probing:
                raise psycopg.OperationalError("database unavailable (already reconnecting)")
            probe = self._down
            self._probing = self._probing or probe
        up = False
        try:
            connection = dialect.connect(*cargs, **cparams)
            up = True
            return connection
        finally:
            with self._lock:
                self._down = not up
                if probe:
                    self._probing = False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
