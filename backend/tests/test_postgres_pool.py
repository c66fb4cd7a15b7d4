"""The PostgreSQL request path (`todo_api.postgres`): statements compiled for psycopg, and the
pool's outage policy -- fail fast while the server is down, one probe at a time, a full
pool is a 503, a cancelled statement never reaches the next request."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa
from todo_api.db import DatabaseUnavailable
from todo_api.postgres import PostgresDatabase, compile_statement
from todo_api.settings import DatabaseSettings
from todo_api.store import PAGE

pytestmark = pytest.mark.anyio


def settings(
    url: str, *, pool_size: int = 10, pool_timeout: float = 5.0, connect_timeout: float = 5.0
) -> DatabaseSettings:
    return DatabaseSettings(
        database_url=url,
        db_pool_size=pool_size,
        db_pool_timeout_seconds=pool_timeout,
        db_connect_timeout_seconds=connect_timeout,
    )


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    opened = PostgresDatabase(settings(postgres_url, pool_size=1, pool_timeout=0.5))
    yield opened
    await opened.close()


@pytest.fixture
def refusing_then_silent_server() -> Iterator[int]:
    """A port whose first connection is closed at once (a failed connect) and whose later
    ones are accepted and never answered (a connect that hangs until its timeout)."""
    held: list[socket.socket] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)

        def accept() -> None:
            first = True
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:  # the listener was closed: the test is over
                    return
                if first:
                    connection.close()
                    first = False
                else:
                    held.append(connection)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield listener.getsockname()[1]
        listener.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=5)
    for connection in held:
        connection.close()


def test_statements_keep_their_own_constants() -> None:
    compiled = compile_statement(PAGE[None], frozenset({"owner", "limit", "offset"}))
    assert "%(owner)s" in compiled.sql
    assert dict(compiled.constants) == {"coalesce_1": 0}


def test_expanding_parameters_are_refused() -> None:
    statement = sa.select(sa.literal(1)).where(
        sa.column("x").in_(sa.bindparam("xs", expanding=True))
    )
    with pytest.raises(ValueError, match="expanding"):
        compile_statement(statement, frozenset({"xs"}))


async def test_rows_come_back_as_dicts(database: PostgresDatabase) -> None:
    rows = await database.rows(sa.select(sa.literal(7).label("seven")), {})
    assert rows == [{"seven": 7}]
    assert await database.rows(sa.text("SELECT 1 WHERE false"), {}) == []


async def test_a_full_pool_is_unavailable_not_a_hang(database: PostgresDatabase) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with database.pool.connection():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(DatabaseUnavailable, match="no free database connection"):
        await database.ping()
    release.set()
    await holder
    await database.ping()


async def test_a_cancelled_statement_never_reaches_the_next_request(
    database: PostgresDatabase,
) -> None:
    # One connection: if the cancelled statement's connection were pooled again, the
    # next request would find a command still in progress on it.
    sleeping = asyncio.create_task(database.rows(sa.select(sa.func.pg_sleep(30)), {}))
    await asyncio.sleep(0.3)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    rows = await database.rows(sa.select(sa.literal("after").label("x")), {})
    assert rows == [{"x": "after"}]


async def test_while_down_one_request_probes_and_the_others_fail_at_once(
    refusing_then_silent_server: int,
) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{refusing_then_silent_server}/none"
    database = PostgresDatabase(settings(url, pool_size=20))
    try:
        # The first failure marks the database down.
        with pytest.raises(DatabaseUnavailable, match="cannot connect"):
            await database.ping()
        probe = asyncio.create_task(database.ping())
        await asyncio.sleep(0)  # the probe is now waiting on its connection attempt
        others = await asyncio.gather(*(database.ping() for _ in range(10)), return_exceptions=True)
        # Every other request was answered while the probe was still connecting.
        assert not probe.done()
        assert all(isinstance(error, DatabaseUnavailable) for error in others)
        assert all("already reconnecting" in str(error) for error in others)
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
    finally:
        await database.close()
