"""ASGI entry point `todo_api.main:app`, configured from the environment only."""

from __future__ import annotations

import sys

from fastapi import FastAPI
from pydantic import ValidationError
from pydantic_settings import SettingsError

from todo_api.app import create_app
from todo_api.logs import configure_logging
from todo_api.settings import Settings, describe_error


def load_app() -> FastAPI:
    try:
        settings = Settings()  # required values come from the environment
    except (ValidationError, SettingsError) as exc:
        # One line, no traceback: the operator needs the variable's name, not our stack.
        print(f"configuration error: {describe_error(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    return create_app(settings)


app = load_app()
