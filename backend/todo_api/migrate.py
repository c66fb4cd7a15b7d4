"""`python -m todo_api.migrate`: upgrade the database named by DATABASE_URL to head."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from pydantic import ValidationError

from todo_api.settings import DatabaseSettings, describe_error

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def main() -> int:
    try:
        settings = DatabaseSettings()
    except ValidationError as exc:
        print(f"configuration error: {describe_error(exc)}", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    print("database is at the latest revision", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
