"""ASGI entry point `todo_api.main:app`, configured from the environment only."""

from __future__ import annotations

from fastapi import FastAPI

from todo_api.app import create_app
from todo_api.logs import configure_logging
from todo_api.settings import load_settings


def load_app() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


app = load_app()
