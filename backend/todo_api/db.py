"""Engine construction: bounded waits everywhere so a dead database means 503, not a hang."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import Dialect, ExceptionContext, make_url
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
    engine = create_engine(
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
    gate = ConnectGate()
    event.listen(engine, "do_connect", gate.connect)
    event.listen(engine, "handle_error", gate.on_error)
    return engine


class ConnectGate:
    """Fail fast while PostgreSQL is down: once a connection attempt fails or a pooled
    connection turns out dead, one request at a time tries to connect and the others get a
    503 at once, instead of each waiting out its own attempt.

    The connect timeout does not bound host name resolution (psycopg resolves in Python):
    when the database host vanishes -- its container stopped -- concurrent lookups of its
    name took the resolver's 5 s timeout, retried, so requests hung past 10 s.
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
