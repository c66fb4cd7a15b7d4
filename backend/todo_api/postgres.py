"""The request path on PostgreSQL: SQLAlchemy builds each statement once, psycopg 3 runs it.

SQLAlchemy's asyncio layer cost half of a list page: on one connection, a page took 145 us
through psycopg and 290 us through the async engine (a greenlet hop to check a connection
out, one to execute, one to give it back, and the result machinery over every field).
So the statements stay SQLAlchemy Core (`store.py`), compiled here for psycopg once per
shape, and run on psycopg connections from the small pool below.

The pool is written here rather than taken from `psycopg_pool`, because the outage policy
needs what a background-refilling pool does not do: while PostgreSQL is down, requests get
a 503 at once and exactly one of them tries to connect (`psycopg_pool` makes each request
wait out its timeout, then reconnects on an exponential back-off that can leave the service
down for seconds after the database is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import DictRow, dict_row
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import make_url

from todo_api.db import (
    APPLICATION_NAME,
    SESSION_OPTIONS,
    DatabaseUnavailable,
    Statement,
    connect_timeout,
)
from todo_api.settings import DatabaseSettings

Connection = psycopg.AsyncConnection[DictRow]

# A pooled connection older than this is replaced (like SQLAlchemy's pool_recycle).
RECYCLE_SECONDS = 1800.0
_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # Values the statement carries itself (e.g. the 0 of a `coalesce`).
    constants: Mapping[str, Any]


def compile_statement(statement: Statement, keys: frozenset[str]) -> _Compiled:
    """`statement` as psycopg runs it, for parameters named `keys` (an INSERT or UPDATE
    sets exactly those columns, as SQLAlchemy does when it executes)."""
    compiled = statement.compile(dialect=_DIALECT, column_keys=sorted(keys))
    if compiled.post_compile_params:  # type: ignore[attr-defined]
        raise ValueError("statements with expanding parameters (IN lists) are not supported")
    given = dict.fromkeys(keys)
    constants = {
        name: value
        for name, value in (compiled.construct_params(given) or {}).items()
        if name not in keys
    }
    return _Compiled(str(compiled), constants)


def conninfo(database_url: str) -> str:
    """The libpq form of a `postgresql+psycopg://` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(slots=True)
class _Pooled:
    connection: Connection
    created: float


class ConnectionPool:
    """Up to `size` connections; a request waits at most `timeout` for one, else 503.

    Fail fast while PostgreSQL is down: once a connection attempt fails or a connection is
    lost, one request at a time tries to connect and the others get a 503 at once, instead
    of each waiting out its own attempt. (The connect timeout does not bound host name
    resolution: lookups of a vanished host -- a stopped container -- took 5-10 s each.)
    """

    def __init__(self, settings: DatabaseSettings) -> None:
        self._conninfo = conninfo(settings.database_url)
        self._connect_timeout = settings.db_connect_timeout_seconds
        self._connect_timeout_whole = connect_timeout(settings)
        self._timeout = settings.db_pool_timeout_seconds
        self._slots = asyncio.Semaphore(settings.db_pool_size)
        self._idle: list[_Pooled] = []
        self._down = False
        self._probing = False
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self._slots.locked():  # every connection busy: wait, but not for ever
            try:
                async with asyncio.timeout(self._timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise DatabaseUnavailable("no free database connection") from None
        else:
            await self._slots.acquire()  # returns at once (no timer to set up)
        try:
            pooled = await self._reuse() or await self._connect()
            try:
                yield pooled.connection
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                if pooled.connection.broken or pooled.connection.closed:
                    self._down = True  # as a failed connect: the next request probes
                raise DatabaseUnavailable(str(error)) from error
            finally:
                await self._give_back(pooled)
        finally:
            self._slots.release()

    async def _reuse(self) -> _Pooled | None:
        now = time.monotonic()
        while self._idle:
            pooled = self._idle.pop()
            if not _alive(pooled.connection):
                # As a failed pre-ping does: a server that ended one connection (restart,
                # shutdown) ended them all.
                stale, self._idle = [pooled, *self._idle], []
                for entry in stale:
                    await _close(entry.connection)
                return None
            if now - pooled.created < RECYCLE_SECONDS:
                return pooled
            await _close(pooled.connection)
        return None

    async def _connect(self) -> _Pooled:
        if self._down and self._probing:
            raise DatabaseUnavailable("database unavailable (already reconnecting)")
        probe = self._down
        self._probing = self._probing or probe
        up = False
        try:
            async with asyncio.timeout(self._connect_timeout):
                connection = await Connection.connect(
                    self._conninfo,
                    autocommit=True,
                    row_factory=dict_row,
                    connect_timeout=self._connect_timeout_whole,
                    options=SESSION_OPTIONS,
                    application_name=APPLICATION_NAME,
                )
            up = True
            return _Pooled(connection, time.monotonic())
        except (psycopg.Error, OSError, TimeoutError) as error:
            raise DatabaseUnavailable(f"cannot connect: {error}") from error
        finally:
            self._down = not up
            if probe:
                self._probing = False

    async def _give_back(self, pooled: _Pooled) -> None:
        connection = pooled.connection
        # Idle and in one piece: anything else (a cancelled statement still running, a
        # lost connection) is closed rather than handed to the next request.
        if (
            not self._closed
            and not connection.closed
            and connection.info.transaction_status is pq.TransactionStatus.IDLE
        ):
            self._idle.append(pooled)
            return
        await _close(connection)

    async def close(self) -> None:
        """Close the idle connections; those in use are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for pooled in idle:
            await _close(pooled.connection)


def _alive(connection: Connection) -> bool:
    """Without a round trip: an idle autocommit connection has nothing to read unless the
    server ended it (FATAL, then the socket closes), so readable means dead."""
    if connection.closed:
        return False
    poller = select.poll()  # not select(): no limit on the descriptor's number
    poller.register(connection.fileno(), select.POLLIN)
    return not poller.poll(0)


async def _close(connection: Connection) -> None:
    with contextlib.suppress(psycopg.Error, OSError):
        await connection.close()


class PostgresDatabase:
    """`Database` on PostgreSQL."""

    dialect_name = "postgresql"

    def __init__(self, settings: DatabaseSettings) -> None:
        self.pool = ConnectionPool(settings)
        self._compiled: dict[tuple[Statement, frozenset[str]], _Compiled] = {}

    def _statement(self, statement: Statement, keys: frozenset[str]) -> _Compiled:
        found = self._compiled.get((statement, keys))
        if found is None:
            found = self._compiled[statement, keys] = compile_statement(statement, keys)
        return found

    async def rows(
        self, statement: Statement, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        compiled = self._statement(statement, frozenset(parameters))
        values = {**compiled.constants, **parameters} if compiled.constants else parameters
        async with self.pool.connection() as connection:
            cursor = await connection.execute(compiled.sql, values)
            return await cursor.fetchall() if cursor.description is not None else []

    async def ping(self) -> None:
        async with self.pool.connection() as connection:
            await connection.execute("SELECT 1")

    async def close(self) -> None:
        await self.pool.close()
