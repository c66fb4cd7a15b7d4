"""Alembic environment: only this service's tables, never Better Auth's (same database)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import SchemaItem
from sqlmodel import SQLModel

import todo_api.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from todo_api.db import make_sync_engine
from todo_api.settings import DatabaseSettings

target_metadata = SQLModel.metadata
# Arbitrary constant: serialises concurrent `upgrade head` runs (several workers/replicas).
_MIGRATION_LOCK_KEY = 0x746F646F


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    # Tables we do not declare (user, session, account, verification, jwks, ...) are not ours.
    if type_ == "table":
        return name in target_metadata.tables
    return True


def include_object(
    obj: SchemaItem, name: str | None, type_: str, reflected: bool, _compare_to: object
) -> bool:
    return not (type_ == "table" and reflected and name not in target_metadata.tables)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url")
    settings = DatabaseSettings(database_url=url) if url else DatabaseSettings()
    engine = make_sync_engine(settings)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
                connection.commit()
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url") or DatabaseSettings().database_url,
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=include_object,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
