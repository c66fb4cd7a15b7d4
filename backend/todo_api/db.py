"""Engine construction: bounded waits everywhere so a dead database means 503, not a hang."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from todo_api.settings import DatabaseSettings

# Requests touch a handful of rows; anything slower than this is a stuck server.
STATEMENT_TIMEOUT_MS = 15_000


def make_engine(settings: DatabaseSettings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            # Sessions hop between threadpool threads; SQLAlchemy serialises use per session.
            connect_args={"check_same_thread": False, "timeout": settings.db_pool_timeout_seconds},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": max(1, round(settings.db_connect_timeout_seconds)),
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            "application_name": "todo_api",
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
